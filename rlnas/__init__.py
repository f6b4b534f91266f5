"""rlnas: neural architecture search by reinforcement learning.

The names users reach for are here, imported when first used (so ``import rlnas`` loads
neither torch nor the search loop):

>>> import rlnas
>>> config = rlnas.SearchConfig(dataset="tabular:digits-tiny", budget=5, top_k=0)
>>> config.strategy
'qlearning'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rlnas import arch  # noqa: F401  (pure data: registers every notation with the parser)

if TYPE_CHECKING:
    from rlnas.arch import Architecture, parse
    from rlnas.config import SearchConfig, load_config
    from rlnas.search import Search, run_search, train_architecture
    from rlnas.spaces import ChoiceSpace, make_space
    from rlnas.strategies import make_strategy

__version__ = "0.1.0"
__all__ = [
    "Architecture",
    "ChoiceSpace",
    "Search",
    "SearchConfig",
    "__version__",
    "load_config",
    "make_space",
    "make_strategy",
    "parse",
    "run_search",
    "train_architecture",
]

#: Public name -> the module that defines it, imported on first use (PEP 562).
_LAZY = {
    "Architecture": "rlnas.arch",
    "parse": "rlnas.arch",
    "SearchConfig": "rlnas.config",
    "load_config": "rlnas.config",
    "Search": "rlnas.search",
    "run_search": "rlnas.search",
    "train_architecture": "rlnas.search",
    "ChoiceSpace": "rlnas.spaces",
    "make_space": "rlnas.spaces",
    "make_strategy": "rlnas.strategies",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rlnas' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def _register_environment() -> None:
    """Register ``rlnas/NasEnv-v0`` with Gymnasium (lazily: the module loads on ``make``)."""
    try:
        import gymnasium
    except ImportError:  # pragma: no cover - gymnasium is a dependency
        return
    if "rlnas/NasEnv-v0" not in gymnasium.registry:
        gymnasium.register(id="rlnas/NasEnv-v0", entry_point="rlnas.env:NasEnv")


_register_environment()
