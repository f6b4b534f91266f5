"""rlnas: neural architecture search by reinforcement learning."""

from rlnas import arch  # noqa: F401  (pure data: registers every notation with the parser)

__version__ = "0.1.0"


def _register_environment() -> None:
    """Register ``rlnas/NasEnv-v0`` with Gymnasium (lazily: the module loads on ``make``)."""
    try:
        import gymnasium
    except ImportError:  # pragma: no cover - gymnasium is a dependency
        return
    if "rlnas/NasEnv-v0" not in gymnasium.registry:
        gymnasium.register(id="rlnas/NasEnv-v0", entry_point="rlnas.env:NasEnv")


_register_environment()
