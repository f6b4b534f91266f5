"""The pruner saves work and never stops the eventual best, on fake learning curves."""

import numpy as np
import pytest

from rlnas.evaluation.pruning import PruneRule, make_rule


def fake_curves(rng, n, epochs=8):
    """Saturating curves acc(t) = a - (a - 0.1) * exp(-r t) with noise, like real ones."""
    a = rng.uniform(0.3, 0.98, n)
    r = rng.uniform(0.3, 1.5, n)
    t = np.arange(1, epochs + 1)
    curves = a[:, None] - (a[:, None] - 0.1) * np.exp(-r[:, None] * t[None, :])
    return np.clip(curves + rng.normal(0, 0.005, curves.shape), 0, 1)


def simulate(curves, top_k=5):
    """Trials arrive in order; each is cut where the rule built from earlier ones says so."""
    finished, stopped, epochs_run = [], [], 0
    for curve in curves:
        full = [c for c, s in zip(finished, stopped, strict=True) if not s]
        rule = make_rule(full, top_k=top_k, epochs=len(curve))
        cut = next(
            (e for e in range(len(curve)) if rule and rule.should_stop(e, list(curve[: e + 1]))),
            None,
        )
        stopped.append(cut is not None)
        finished.append(list(curve) if cut is None else list(curve[: cut + 1]))
        epochs_run += len(finished[-1])
    return stopped, epochs_run


@pytest.mark.parametrize("seed", range(20))
def test_the_eventual_best_is_never_stopped_and_work_is_saved(seed):
    rng = np.random.default_rng(seed)
    curves = fake_curves(rng, 200)
    stopped, epochs_run = simulate(curves)
    best = int(np.argmax(curves.max(axis=1)))
    assert not stopped[best]
    top5 = np.argsort(-curves.max(axis=1))[:5]
    assert not any(stopped[i] for i in top5)
    assert sum(stopped) > 20  # it does stop hopeless trials
    assert epochs_run < 0.9 * curves.size


def test_no_rule_until_enough_trials_and_never_at_the_last_epoch():
    assert make_rule([[0.5] * 8] * 9, top_k=5, epochs=8) is None
    rule = make_rule([[0.9] * 8] * 10, top_k=5, epochs=8)
    assert rule is not None and rule.threshold == 0.9
    assert rule.should_stop(3, [0.1, 0.1, 0.1, 0.1])
    assert not rule.should_stop(7, [0.1] * 8)


def test_rule_arithmetic():
    rule = PruneRule(threshold=0.8, max_gain=(0.2, 0.1, 0.0))
    assert not rule.should_stop(0, [0.6])  # 0.6 + 0.2 is not below 0.8
    assert rule.should_stop(0, [0.59])
