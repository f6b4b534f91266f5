"""Learning-curve prediction: a trial's best validation accuracy at a later epoch, from its
partial curve and the run's own finished curves.

The prediction is the trial's best value so far plus the median gain that the ``k``
finished curves nearest to it at the same epoch went on to make (nearest in best value so
far). On the digits table it predicts the final value from the first epochs with about
a third less error than a power law ``y = a - b t^-c`` fitted the same way, and half the
error of the value so far (``benchmarks/curves.py``; RESULTS.md, "Learning curves").

:func:`fit_predictor` also measures, leave-one-curve-out, how much it over-predicts: the
``margin`` that the truth exceeded in only 5% of cases, which a stopping rule adds
before it declares a trial unable to reach a threshold.

>>> finished = [[0.2 + 0.1 * k, 0.5 + 0.1 * k, 0.6 + 0.1 * k] for k in range(4)]
>>> predictor = fit_predictor(finished, k=2)
>>> round(predictor.predict([0.45], 3), 2)  # nearest: 0.4 and 0.5 at epoch 1, both gain 0.4
0.85
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["CurvePredictor", "fit_predictor", "prediction_errors"]


def _monotone(curve: Sequence[float]) -> np.ndarray:
    return np.maximum.accumulate(np.asarray(curve, dtype=float))


@dataclass(frozen=True)
class CurvePredictor:
    """Nearest-neighbour gains over ``curves`` (finished, best value so far per epoch);
    ``margin``: the 95th percentile of how far the truth lay above its predictions."""

    curves: tuple[tuple[float, ...], ...]
    k: int = 10
    margin: float = 0.0
    _array: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        array = np.array(self.curves, dtype=float).reshape(len(self.curves), -1)
        object.__setattr__(self, "_array", array)  # (curves, epochs)

    @property
    def epochs(self) -> int:
        return int(self._array.shape[1]) if len(self.curves) else 0

    def predict(self, curve: Sequence[float], epoch: int) -> float:
        """The best value of ``curve`` (epochs 1..len) predicted at ``epoch`` (1-based)."""
        y = _monotone(curve)
        seen = len(y)
        if epoch <= seen or not len(self.curves) or epoch > self.epochs:
            return float(y[min(epoch, seen) - 1])
        at, later = self._array[:, seen - 1], self._array[:, epoch - 1]
        nearest = np.argsort(np.abs(at - y[-1]), kind="stable")[: self.k]
        return float(y[-1] + np.median(later[nearest] - at[nearest]))

    def upper(self, curve: Sequence[float], epoch: int) -> float:
        """A value the trial reaches at ``epoch`` only 5% of the time: prediction + margin."""
        return self.predict(curve, epoch) + self.margin


def fit_predictor(curves: Sequence[Sequence[float]], *, k: int = 10) -> CurvePredictor:
    """The predictor of finished ``curves`` (all of one length; others are ignored), with
    its margin measured leave-one-curve-out from every prefix of every curve."""
    lengths = [len(c) for c in curves]
    full = max(set(lengths), key=lengths.count) if lengths else 0
    kept = tuple(tuple(float(v) for v in _monotone(c)) for c in curves if len(c) == full and full)
    if len(kept) < 2:
        return CurvePredictor(kept, k)
    under = []
    for i, y in enumerate(kept):
        others = CurvePredictor(kept[:i] + kept[i + 1 :], k)
        under += [y[-1] - others.predict(y[:t], full) for t in range(1, full)]
    margin = float(np.percentile(under, 95)) if under else 0.0
    return CurvePredictor(kept, k, max(margin, 0.0))


def prediction_errors(
    predictor: CurvePredictor, curves: Sequence[Sequence[float]], seen: int
) -> np.ndarray:
    """Absolute errors of predicting each of ``curves``' last best value from its first
    ``seen`` epochs."""
    return np.array(
        [abs(predictor.predict(c[:seen], len(c)) - float(_monotone(c)[-1])) for c in curves]
    )
