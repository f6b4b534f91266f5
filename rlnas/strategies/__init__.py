"""Search strategies (ask/tell) and their registry."""

from __future__ import annotations

from typing import Any

from rlnas.spaces.base import SearchSpace
from rlnas.strategies.base import Feedback, OneShotStrategy, PhaseReport, Proposal, Strategy
from rlnas.strategies.enas import ENAS
from rlnas.strategies.evolution import RegularizedEvolution
from rlnas.strategies.meta_a2c import MetaA2C
from rlnas.strategies.qlearning import EpsilonSchedule, QLearning
from rlnas.strategies.random import RandomSearch
from rlnas.strategies.reinforce import Reinforce

__all__ = [
    "ENAS",
    "STRATEGIES",
    "EpsilonSchedule",
    "Feedback",
    "MetaA2C",
    "OneShotStrategy",
    "PhaseReport",
    "Proposal",
    "QLearning",
    "RandomSearch",
    "RegularizedEvolution",
    "Reinforce",
    "Strategy",
    "make_strategy",
]

#: Name -> class. A new strategy registers here and every benchmark picks it up.
STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (QLearning, RegularizedEvolution, RandomSearch, Reinforce, ENAS)
}
STRATEGIES[MetaA2C.name] = MetaA2C


def make_strategy(
    name: str | type[Strategy], space: SearchSpace[Any], *, budget: int, seed: int, **hyper: Any
) -> Strategy:
    """Create a strategy by registered name or class; unknown names raise ``ValueError``."""
    cls = STRATEGIES.get(name) if isinstance(name, str) else name
    if cls is None:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    try:
        return cls(space, budget=budget, seed=seed, **hyper)
    except TypeError as error:
        raise ValueError(f"invalid settings for strategy {cls.name!r}: {error}") from None
