"""The strategy contract: ask/tell, as in Optuna. The loop lives in :mod:`rlnas.search`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from rlnas.arch import Architecture
from rlnas.evaluation.result import EvalResult
from rlnas.spaces.base import SearchSpace

__all__ = ["Feedback", "Proposal", "Strategy"]


@dataclass(frozen=True)
class Proposal:
    """An architecture and the action ids (into the space's vocabulary) that built it."""

    architecture: Architecture
    actions: tuple[int, ...]
    #: Strategy diagnostics at proposal time, e.g. ``{"epsilon": 0.9}``; stored with the trial.
    info: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Feedback:
    """What the loop tells a strategy about one proposal."""

    proposal: Proposal
    reward: float
    result: EvalResult
    #: True when this architecture was trained now; False when its stored result was replayed.
    new: bool


class Strategy(ABC):
    """Proposes architectures of one :class:`SearchSpace` and learns from their rewards.

    Call protocol: ``propose()`` then ``observe(feedback)`` for that proposal, repeatedly
    (an asynchronous loop may have several proposals out; each is observed once).
    ``state_dict()`` captures everything needed to continue bit-identically, including
    random-number-generator state, as plain data (dicts, lists, numbers, strings, numpy
    arrays, torch tensors); ``load_state_dict()`` on a freshly constructed strategy with the
    same arguments restores it. Strategies see results, never the trainer or the store.
    """

    #: Registered name, e.g. ``"qlearning"``.
    name: str = ""

    def __init__(self, space: SearchSpace[Any], *, budget: int, seed: int) -> None:
        self.space = space
        self.budget = budget
        self.seed = seed

    @abstractmethod
    def propose(self) -> Proposal:
        """The next architecture to evaluate."""

    @abstractmethod
    def observe(self, feedback: Feedback) -> None:
        """Learn from the reward of an earlier proposal."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume, as plain data."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
