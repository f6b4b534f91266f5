"""The strategy contract: ask/tell, as in Optuna. The loop lives in :mod:`rlnas.search`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from rlnas.arch import Architecture
from rlnas.results import EvalResult, SharedTrainConfig, SharedWeights
from rlnas.spaces.base import SearchSpace

__all__ = ["Feedback", "OneShotStrategy", "PhaseReport", "Proposal", "Strategy"]


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
    #: The share of the search's time limit spent when this was observed (0-1); None when
    #: the search has no time limit. A strategy that anneals (Q-learning's epsilon) keeps
    #: pace with it, so that a search the time limit ends has not ended still exploring.
    time_share: float | None = None


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


@dataclass(frozen=True)
class PhaseReport:
    """One step (an epoch) of a weight-sharing phase, for progress displays and reports."""

    step: int
    steps: int
    #: What the step measured, e.g. ``{"reward": 0.61, "shared_loss": 1.2}``.
    info: dict[str, float] = field(default_factory=dict)


class OneShotStrategy(Strategy):
    """A strategy that trains shared weights before it proposes (ENAS).

    Call protocol, driven by the search loop: right after construction (before any
    ``load_state_dict``) the loop builds the :class:`SharedWeights` that
    :attr:`shared_config` asks for and passes them to :meth:`attach`; then it calls
    :meth:`phase_step` and checkpoints ``state_dict()`` after each call until it returns
    None; then ``propose``/``observe`` as for every strategy. The shared weights are the
    strategy's only view of the data: a narrow train-this-child / score-this-child
    interface, never the trainer or the store.
    """

    shared: SharedWeights | None = None

    @property
    @abstractmethod
    def shared_config(self) -> SharedTrainConfig:
        """How the shared weights should be trained."""

    def attach(self, shared: SharedWeights) -> None:
        """Give the strategy the shared weights it trains and scores children with."""
        self.shared = shared

    @abstractmethod
    def phase_step(self) -> PhaseReport | None:
        """Run the next step of the weight-sharing phase; None once the phase is over."""
