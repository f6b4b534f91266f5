"""Early stopping of trials from their partial learning curves: the rules an evaluator
checks after every epoch (``rule.should_stop(epoch, curve)``, epoch 0-based).

:class:`PruneRule` (``--prune``): a conservative, empirical predictor in the spirit of
Baker et al. 2017 ("Accelerating Neural Architecture Search using Performance
Prediction"): from the finished trials we know how much a learning curve still gained
after each epoch; a running trial is stopped when even the largest gain seen so far
(times ``slack``, plus ``margin``) could not lift its best validation accuracy to the
current k-th best. Until ``min_trials`` curves have finished, nothing is stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["PruneRule", "StopRule", "make_rule"]


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
