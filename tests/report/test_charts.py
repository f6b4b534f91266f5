"""A run of many trials gives charts of bounded size that still show what matters: every
series at most MAX_POINTS points, the best-so-far line exact, and a note saying so."""

from pathlib import Path

import numpy as np

from rlnas.report.charts import MAX_POINTS, build_charts
from rlnas.report.data import RunData
from rlnas.results import EvalResult, TrialStatus
from rlnas.store import TrialRecord


def big_run(n):
    rng = np.random.default_rng(0)
    trials = []
    for i in range(n):
        acc = float(rng.uniform(0.1, 0.9))
        status = TrialStatus.FAILED if i % 50 == 7 else TrialStatus.OK
        result = EvalResult(status, acc, 10, params=int(rng.integers(100, 10**6)),
                            val_curve=(acc / 2, acc))  # fmt: skip
        info = {"epsilon": max(0.1, 1 - i / n), "q_spread": float(rng.random())}
        trials.append(TrialRecord(i, f"[C({i},3,1), SM(10)]", (), acc, result, True, info, i))
    return RunData(Path("big"), {}, trials, [], (1, 8, 8)), trials


def test_a_large_run_is_thinned_evenly_but_its_best_and_front_are_exact():
    run, trials = big_run(3 * MAX_POINTS)
    charts = {c.key: c for c in build_charts(run)}
    for chart in charts.values():
        assert all(len(s.x) <= MAX_POINTS for s in chart.series), chart.key
    best = max(t.result.val_acc for t in trials)
    by_trial = charts["best_by_trial"]
    step = next(s for s in by_trial.series if s.name == "best so far")
    assert step.y[-1] == best and step.x[-1] == trials[-1].id  # the line ends exact
    points = next(s for s in by_trial.series if s.name == "each trained model")
    assert points.ids[0] == 0 and points.ids[-1] == trials[-1].id  # spread over the run
    assert f"{MAX_POINTS:,} of {len(trials):,} points shown" in by_trial.note
    assert "Red rings" in charts["rewards"].note and "points shown" in charts["rewards"].note


def test_a_small_run_is_drawn_whole():
    run, trials = big_run(100)
    for chart in build_charts(run):
        assert "points shown" not in chart.note
    rewards = next(c for c in build_charts(run) if c.key == "rewards")
    assert sum(len(s.x) for s in rewards.series) == len(trials)
