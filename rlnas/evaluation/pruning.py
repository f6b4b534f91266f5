"""Early stopping of trials from their partial learning curves: the rules an evaluator
checks after every epoch (``rule.should_stop(epoch, curve)``, epoch 0-based).

- :class:`PruneRule` (``--prune``): a conservative, empirical predictor in the spirit of
  Baker et al. 2017 ("Accelerating Neural Architecture Search using Performance
  Prediction"): from the finished trials we know how much a learning curve still gained
  after each epoch; a running trial is stopped when even the largest gain seen so far
  (times ``slack``, plus ``margin``) could not lift its best validation accuracy to the
  current k-th best. Until ``min_trials`` curves have finished, nothing is stopped.
- :class:`RungRule` (multi-fidelity, ``--min-epochs``): asynchronous successive halving
  (ASHA, Li et al. 2020): at each rung's epoch a trial goes on only if its best value so
  far is among the best ``1/eta`` of the values recorded at that rung; between rungs it is
  stopped as soon as its learning curve (:mod:`rlnas.evaluation.curves`) cannot reach the
  next rung's cutoff even with the predictor's 95% margin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from rlnas.evaluation.curves import CurvePredictor

__all__ = ["PruneRule", "RungRule", "StopRule", "make_rule"]


class StopRule(Protocol):
    """What an evaluator asks after each epoch: stop training here?"""

    def should_stop(self, epoch: int, curve: Sequence[float]) -> bool: ...


@dataclass(frozen=True)
class PruneRule:
    """Stop at epoch e when ``max(curve[: e + 1]) + max_gain[e] < threshold``.

    >>> rule = PruneRule(threshold=0.9, max_gain=(0.3, 0.1, 0.0))
    >>> rule.should_stop(0, [0.5]), rule.should_stop(1, [0.5, 0.7])
    (True, True)
    >>> rule.should_stop(1, [0.5, 0.85])
    False
    """

    #: The k-th best validation accuracy among finished trials.
    threshold: float
    #: Per epoch, the most a finished curve still gained after it (with slack and margin).
    max_gain: tuple[float, ...]

    def should_stop(self, epoch: int, curve: Sequence[float]) -> bool:
        if not curve or epoch >= len(self.max_gain) - 1:
            return False  # never stop at the last epoch: it is as cheap to finish
        return max(curve) + self.max_gain[epoch] < self.threshold


def make_rule(
    curves: Sequence[Sequence[float]],
    *,
    top_k: int,
    epochs: int,
    min_trials: int = 10,
    slack: float = 1.5,
    margin: float = 0.02,
) -> PruneRule | None:
    """The rule for the next trial, from the validation curves of finished trials.

    Only complete curves (``epochs`` long) count; None while fewer than ``min_trials``.
    """
    full = [list(c) for c in curves if len(c) == epochs]
    if len(full) < max(min_trials, top_k):
        return None
    finals = sorted((max(c) for c in full), reverse=True)
    gains = tuple(
        slack * max(max(c) - max(c[: e + 1]) for c in full) + margin for e in range(epochs)
    )
    return PruneRule(threshold=finals[top_k - 1], max_gain=gains)


@dataclass(frozen=True)
class RungRule:
    """ASHA's rule for one trial: the rungs' epochs (``milestones``, counts from 1, the last
    is the full training) and, per rung but the last, the ``cutoffs`` its best value so
    far must reach to go on (None: too few values recorded there yet, go on).

    >>> rule = RungRule(milestones=(1, 3, 9), cutoffs=(0.5, 0.8))
    >>> rule.should_stop(0, [0.4]), rule.should_stop(0, [0.6]), rule.should_stop(2, [0.6] * 3)
    (True, False, True)
    >>> rule.should_stop(8, [0.1] * 9)  # the full training is never cut short
    False
    """

    milestones: tuple[int, ...]
    cutoffs: tuple[float | None, ...]
    #: Learning-curve stopping between rungs (None: only at the rungs).
    predictor: CurvePredictor | None = None

    def rung_of(self, epochs: int) -> int:
        """The highest rung a curve of ``epochs`` epochs has reached (-1: none)."""
        return max((i for i, m in enumerate(self.milestones) if m <= epochs), default=-1)

    def should_stop(self, epoch: int, curve: Sequence[float]) -> bool:
        done = epoch + 1
        best = max(curve) if curve else 0.0
        for milestone, cutoff in zip(self.milestones[:-1], self.cutoffs, strict=False):
            if done < milestone:  # the next rung: can the curve still reach its cutoff?
                return (
                    cutoff is not None
                    and self.predictor is not None
                    and self.predictor.upper(curve, milestone) < cutoff
                )
            if done == milestone:
                return cutoff is not None and best < cutoff
        return False
