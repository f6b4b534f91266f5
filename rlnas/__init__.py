"""rlnas: neural architecture search by reinforcement learning."""

from rlnas import enas_arch as _enas_arch  # noqa: F401  (registers the macro-network tokens)

__version__ = "0.1.0"
