"""Multi-fidelity search: asynchronous successive halving (ASHA) on the search's own loop.

With ``min_epochs`` set, a trial's training is a ladder of rungs: epochs ``min_epochs``,
``min_epochs * eta``, ``min_epochs * eta^2``, ... below ``epochs``, then ``epochs`` itself
(Ray Tune's ASHA). At each rung a trial goes on only if its best validation accuracy so far
is among the best ``1/eta`` of those recorded at that rung, and between rungs it stops as
soon as its learning curve cannot reach the next cutoff (:class:`RungRule`). Nobody waits
for a rung to fill: the cutoffs a job gets are those of the trials committed before it
starts, and a stopped trial is committed as ``pruned`` with the curve it trained.

What the strategy learns from a trial stopped after ``e`` epochs is its best value
corrected for the fidelity: plus the median gain that the trials which trained to the end
made after epoch ``e`` (:meth:`Ladder.correct`); a trial that trained to the end is not
corrected. So rewards stay on the accuracy scale, comparable across rungs. The
ladder is a function of the committed trials alone, so a resumed search rebuilds it
exactly and every decision after the resume is the one the uninterrupted search made.

>>> Rungs.of(min_epochs=1, epochs=9, eta=3).milestones
(1, 3, 9)
>>> Rungs.of(min_epochs=2, epochs=8, eta=3).milestones
(2, 6, 8)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from rlnas.evaluation.curves import CurvePredictor, fit_predictor
from rlnas.evaluation.pruning import RungRule
from rlnas.results import EvalResult, TrialStatus

__all__ = ["Ladder", "Rungs"]

#: Finished curves the learning-curve predictor is fitted on (the most recent ones).
MAX_CURVES = 200


@dataclass(frozen=True)
class Rungs:
    """The epochs at which trials are compared (the last: the full training), and ``eta``."""

    milestones: tuple[int, ...]
    eta: int

    @classmethod
    def of(cls, *, min_epochs: int, epochs: int, eta: int) -> Rungs:
        if not 1 <= min_epochs < epochs or eta < 2:
            raise ValueError(
                f"multi-fidelity needs 1 <= min_epochs < epochs and eta >= 2, got "
                f"min_epochs={min_epochs}, epochs={epochs}, eta={eta}"
            )
        milestones = []
        rung = min_epochs
        while rung < epochs:
            milestones.append(rung)
            rung *= eta
        return cls((*milestones, epochs), eta)

    @property
    def top(self) -> int:
        return len(self.milestones) - 1

    def expected_cost(self) -> float:
        """What a trial costs on average, as a share of a full training, when ``1/eta``
        of the trials at each rung go on.

        >>> round(Rungs((1, 3, 9), 3).expected_cost(), 3)  # (1 + 2/3 + 6/9) / 9
        0.259
        """
        epochs, before = 0.0, 0
        for rung, milestone in enumerate(self.milestones):
            epochs += (milestone - before) / self.eta**rung
            before = milestone
        return epochs / self.milestones[-1]


class Ladder:
    """The values recorded at each rung by the committed trials, and what follows from
    them: the rule a new job runs under, and the corrected value of a stopped trial."""

    def __init__(self, rungs: Rungs, *, curve_stopping: bool = True) -> None:
        self.rungs, self.curve_stopping = rungs, curve_stopping
        self.values: list[list[float]] = [[] for _ in rungs.milestones]
        self.finished: list[tuple[float, ...]] = []  # best-so-far curves of full trainings
        self._predictor: CurvePredictor | None = None
        self._fitted_on = 0

    def record(self, result: EvalResult) -> None:
        """Add the rung values of a newly trained trial (failures record nothing)."""
        if result.status not in (TrialStatus.OK, TrialStatus.PRUNED) or not result.val_curve:
            return
        best = np.maximum.accumulate(result.val_curve)
        for rung, milestone in enumerate(self.rungs.milestones):
            if milestone <= len(best):
                self.values[rung].append(float(best[milestone - 1]))
        if len(best) == self.rungs.milestones[-1]:
            self.finished.append(tuple(float(v) for v in best))

    def cutoff(self, rung: int) -> float | None:
        """The value a trial must reach at ``rung`` to go on: the ``1 - 1/eta`` quantile
        of the values recorded there (None while fewer than ``eta`` are)."""
        values = self.values[rung]
        if len(values) < self.rungs.eta:
            return None
        return float(np.quantile(values, 1 - 1 / self.rungs.eta))

    def predictor(self) -> CurvePredictor | None:
        """The learning-curve predictor of the finished trials, refitted when their number
        has grown by a quarter (a function of the committed trials: resume-exact)."""
        if not self.curve_stopping or len(self.finished) < 2:
            return None
        if self._predictor is None or len(self.finished) >= 1.25 * self._fitted_on:
            self._predictor = fit_predictor(self.finished[-MAX_CURVES:])
            self._fitted_on = len(self.finished)
        return self._predictor

    def rule(self) -> RungRule:
        """The rule a job started now runs under."""
        cutoffs = tuple(self.cutoff(r) for r in range(self.rungs.top))
        return RungRule(self.rungs.milestones, cutoffs, self.predictor())

    def rung_of(self, result: EvalResult) -> int:
        """The highest rung ``result``'s training reached (-1: not even the first)."""
        return max(
            (r for r, m in enumerate(self.rungs.milestones) if m <= result.epochs), default=-1
        )

    def gain(self, epochs: int) -> float:
        """The median gain of the full trainings from epoch ``epochs`` to the end (0
        without any full training yet)."""
        if not self.finished or not 1 <= epochs < self.rungs.milestones[-1]:
            return 0.0
        return float(np.median([c[-1] - c[epochs - 1] for c in self.finished]))

    def correct(self, result: EvalResult) -> EvalResult:
        """``result`` as the strategy should judge it: a stopped trial's best accuracy plus
        the median gain the full trainings made after as many epochs."""
        if result.status is not TrialStatus.PRUNED:
            return result
        return replace(result, val_acc=result.val_acc + self.gain(result.epochs))
