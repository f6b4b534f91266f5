"""The evaluator contract."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlnas.arch import Architecture
from rlnas.evaluation.pruning import StopRule
from rlnas.results import EvalResult, FinalScore, ShortlistScore

if TYPE_CHECKING:
    from rlnas.results import SharedTrainConfig, SharedWeights
    from rlnas.spaces.base import SearchSpace

__all__ = ["Evaluator"]


class Evaluator(ABC):
    """Trains (or looks up) one architecture and measures it.

    ``evaluate`` must be a pure function of ``(arch, seed)`` and of what ``fingerprint``
    covers (data set, split, epochs, optimiser, ...): the fingerprint keys the result
    cache, so two evaluators with equal fingerprints must give equal results. Failures of
    the child network (NaN loss, out of memory, never better than chance) are returned as
    ``TrialStatus.FAILED`` results, never raised. An evaluator runs alone in a worker
    process: it must be picklable and must not import the search loop.
    """

    #: Class count and (C, H, W) input shape of the data it evaluates on.
    num_classes: int
    input_shape: tuple[int, int, int]
    #: The one search space this evaluator can answer for (a table's), or None for any.
    space: str | None = None
    #: The kind of data it trains on ("image", "text"), which a space's models must take;
    #: None: any (e.g. the fake evaluator).
    modality: str | None = None
    #: Capability: :meth:`shortlist_score` measures more faithfully than :meth:`evaluate`
    #: (e.g. longer, on all the training data), so a search may re-rank its best with it.
    can_shortlist: bool = False
    #: Capability: :meth:`screen` scores architectures without training them.
    can_screen: bool = False

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """A short hash of everything that changes the result."""

    @abstractmethod
    def evaluate(
        self, arch: Architecture, seed: int, *, prune: StopRule | None = None
    ) -> EvalResult:
        """Train and measure ``arch``; deterministic for a given seed (and rule). With
        ``prune``, training stops once the rule says the curve cannot reach the top-k, and
        the result is ``TrialStatus.PRUNED`` with the curve so far."""

    def with_data(self) -> Evaluator:
        """A copy whose pickle carries the data it evaluates on, for workers that cannot
        load it themselves (other machines of a Ray cluster). Default: ``self``, for
        evaluators that need no data files."""
        return self

    @abstractmethod
    def final(
        self, arch: Architecture, seed: int, epochs: int, *, save_to: Path | None = None
    ) -> FinalScore:
        """Retrain ``arch`` on train+validation for ``epochs`` and score it on the test split;
        save the trained weights to ``save_to`` when given."""

    def shortlist_score(self, arch: Architecture, seed: int, epochs: int) -> ShortlistScore:
        """Train ``arch`` as :meth:`final` does but on the training split only, for
        ``epochs``, and score it on the validation split: how a search re-ranks its
        shortlist without touching test. Evaluators that can set :attr:`can_shortlist`;
        the default raises :class:`ValueError`."""
        raise ValueError(
            f"{type(self).__name__} cannot re-rank a shortlist; run without --shortlist"
        )

    def screen(self, archs: Sequence[Architecture], proxy: str, *, seed: int) -> list[float]:
        """Training-free scores of ``archs`` (higher: more promising) by the zero-cost
        ``proxy`` (:mod:`rlnas.evaluation.proxies`), for ``--screen``. Evaluators that can
        set :attr:`can_screen`; the default raises :class:`ValueError`."""
        raise ValueError(f"{type(self).__name__} cannot screen architectures; drop --screen")

    def shared_weights(
        self, space: SearchSpace[Any], config: SharedTrainConfig, *, seed: int
    ) -> SharedWeights:
        """One super-network over ``space`` with this evaluator's data, for weight-sharing
        strategies (ENAS), initialised from ``seed``. Raises :class:`ValueError` when the
        evaluator has no data to train one on, or the space has no super-network."""
        raise ValueError(
            f"{type(self).__name__} cannot train shared weights (it has no training data); "
            "use a real data set with --strategy enas"
        )
