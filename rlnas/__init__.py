"""rlnas: neural architecture search by reinforcement learning."""

__version__ = "0.1.0"
