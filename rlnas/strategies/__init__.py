"""Search strategies (ask/tell) and their registry.

The registry names each strategy's class by where it lives (``"module:Class"``, as
Gymnasium registers environments) and imports it when it is first asked for, so listing
or choosing a strategy loads torch only for the strategies that need it:
``import rlnas.strategies.qlearning`` stays free of torch.

>>> sorted(STRATEGIES)[:3]
['enas', 'evolution', 'local']
>>> STRATEGIES["random"].__name__
'RandomSearch'
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from rlnas.spaces.base import SearchSpace
from rlnas.strategies.base import Feedback, OneShotStrategy, PhaseReport, Proposal, Strategy

if TYPE_CHECKING:  # imported lazily at run time, by __getattr__ below
    from rlnas.strategies.enas import ENAS
    from rlnas.strategies.evolution import RegularizedEvolution
    from rlnas.strategies.local import LocalSearch
    from rlnas.strategies.meta_a2c import MetaA2C
    from rlnas.strategies.qlearning import EpsilonSchedule, QLearning
    from rlnas.strategies.random import RandomSearch
    from rlnas.strategies.reinforce import Reinforce

__all__ = [
    "ENAS",
    "STRATEGIES",
    "EpsilonSchedule",
    "Feedback",
    "LocalSearch",
    "MetaA2C",
    "OneShotStrategy",
    "PhaseReport",
    "Proposal",
    "QLearning",
    "RandomSearch",
    "RegularizedEvolution",
    "Reinforce",
    "Strategy",
    "StrategyRegistry",
    "make_strategy",
]

#: Classes this package exports, by the module that defines them (imported on first use).
_CLASSES = {
    "QLearning": "qlearning",
    "EpsilonSchedule": "qlearning",
    "RegularizedEvolution": "evolution",
    "LocalSearch": "local",
    "RandomSearch": "random",
    "Reinforce": "reinforce",
    "ENAS": "enas",
    "MetaA2C": "meta_a2c",
}


class StrategyRegistry(MutableMapping[str, type[Strategy]]):
    """Name -> strategy class; an entry is a class or a ``"module:Class"`` string that is
    imported the first time it is looked up."""

    def __init__(self, entries: dict[str, type[Strategy] | str]) -> None:
        self._entries = dict(entries)

    def __getitem__(self, name: str) -> type[Strategy]:
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attribute = entry.partition(":")
            entry = getattr(importlib.import_module(module), attribute)
            self._entries[name] = entry
        return entry

    def __setitem__(self, name: str, entry: type[Strategy] | str) -> None:
        self._entries[name] = entry

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


#: Registered strategies. A new strategy registers here (``STRATEGIES["name"] = cls``) and
#: every benchmark, conformance suite and the CLI pick it up.
STRATEGIES = StrategyRegistry(
    {
        "qlearning": "rlnas.strategies.qlearning:QLearning",
        "evolution": "rlnas.strategies.evolution:RegularizedEvolution",
        "local": "rlnas.strategies.local:LocalSearch",
        "random": "rlnas.strategies.random:RandomSearch",
        "reinforce": "rlnas.strategies.reinforce:Reinforce",
        "enas": "rlnas.strategies.enas:ENAS",
        "meta-a2c": "rlnas.strategies.meta_a2c:MetaA2C",
    }
)


def make_strategy(
    name: str | type[Strategy], space: SearchSpace[Any], *, budget: int, seed: int, **hyper: Any
) -> Strategy:
    """Create a strategy by registered name or class; unknown names raise ``ValueError``."""
    if isinstance(name, str) and name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    cls = STRATEGIES[name] if isinstance(name, str) else name
    try:
        return cls(space, budget=budget, seed=seed, **hyper)
    except TypeError as error:
        raise ValueError(f"invalid settings for strategy {cls.name!r}: {error}") from None


def __getattr__(name: str) -> Any:
    """The strategy classes, imported when first used (PEP 562)."""
    module = _CLASSES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
