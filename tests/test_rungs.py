"""Multi-fidelity search (ASHA): rungs, cutoffs, corrected rewards, the budget in full
trainings, and decisions that survive a crash and a resume."""

import dataclasses

import numpy as np
import pytest

from rlnas.config import ConfigError, SearchConfig
from rlnas.evaluation.tabular import TabularEvaluator
from rlnas.results import EvalResult, TrialStatus
from rlnas.search import run_search
from rlnas.search.rungs import Ladder, Rungs
from rlnas.spaces import make_space
from rlnas.store import Store
from rlnas.testing import FakeEvaluator

SPACE = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
CONFIG = SearchConfig(budget=30, epochs=9, min_epochs=1, seed=3, top_k=2, strategy="random")


def fake():
    return FakeEvaluator(SPACE, seed=1, noise=0.05, epochs=9)


def rows(run_dir):
    with Store(run_dir / "trials.db") as store:
        trials = [dataclasses.replace(t, created=0.0) for t in store.trials()]
        return trials, store.finals(), store.checkpoint()


def result(curve, status=TrialStatus.OK):
    return EvalResult(status, max(curve), 10, val_curve=tuple(curve), epochs=len(curve))


def test_cutoffs_are_the_top_third_of_each_rung_once_it_holds_eta_values():
    ladder = Ladder(Rungs.of(min_epochs=1, epochs=9, eta=3), curve_stopping=False)
    for value in (0.3, 0.5):
        ladder.record(result([value], TrialStatus.PRUNED))
    assert ladder.rule().cutoffs == (None, None)  # fewer than eta values: everyone goes on
    ladder.record(result([0.7, 0.75, 0.8]))
    assert ladder.cutoff(0) == pytest.approx(np.quantile([0.3, 0.5, 0.7], 2 / 3))
    assert ladder.rule().should_stop(0, [0.5]) and not ladder.rule().should_stop(0, [0.7])


def test_a_stopped_trial_is_judged_with_the_gain_full_trainings_made_after_its_epochs():
    ladder = Ladder(Rungs.of(min_epochs=1, epochs=3, eta=3))
    for start in (0.4, 0.5, 0.6):
        ladder.record(result([start, start + 0.1, start + 0.3]))
    stopped = result([0.45], TrialStatus.PRUNED)
    assert ladder.correct(stopped).val_acc == pytest.approx(0.75)  # + median gain 0.3
    finished = result([0.4, 0.5, 0.7])
    assert ladder.correct(finished) == finished


def test_a_multi_fidelity_search_stops_most_trials_early_and_counts_epochs(tmp_path):
    summary = run_search(dataclasses.replace(CONFIG, run_dir=str(tmp_path)), evaluator=fake())
    new = [t for t in summary.trials if t.new]
    stopped = [t for t in new if t.result.status is TrialStatus.PRUNED]
    full = [t for t in new if t.result.ok]
    assert len(stopped) > 2 * len(full) > 0  # most stop at a rung or on their curve
    assert all(t.result.epochs == 9 for t in full)
    assert {t.info["rung"] for t in new} <= {-1.0, 0.0, 1.0, 2.0}
    spent = sum(t.result.epochs for t in new) / 9
    assert 30 - 1 <= spent <= 30 + 1  # the budget is 30 full trainings' worth of epochs
    assert len(new) > 60  # ... spread over more than twice as many models
    assert all(f.arch in {t.arch for t in full} for f in summary.finals)  # finals trained fully
    for t in stopped:  # the strategy saw the stopped ones corrected upwards, never down
        assert t.reward >= t.result.val_acc


def test_same_seed_same_store_and_a_crash_resumes_to_the_uninterrupted_run(tmp_path):
    config = dataclasses.replace(CONFIG, strategy="qlearning")
    run_search(dataclasses.replace(config, run_dir=str(tmp_path / "a")), evaluator=fake())
    run_search(dataclasses.replace(config, run_dir=str(tmp_path / "b")), evaluator=fake())
    assert rows(tmp_path / "a") == rows(tmp_path / "b")

    class Crashing(FakeEvaluator):
        def __init__(self):
            super().__init__(SPACE, seed=1, noise=0.05, epochs=9)
            self.left = 40

        def evaluate(self, arch, seed, *, prune=None):
            self.left -= 1
            if self.left < 0:
                raise KeyboardInterrupt  # killed mid-search
            return super().evaluate(arch, seed, prune=prune)

    broken = dataclasses.replace(config, run_dir=str(tmp_path / "c"))
    run_search(broken, evaluator=Crashing())
    run_search(broken, resume=True, evaluator=fake())
    assert rows(tmp_path / "c") == rows(tmp_path / "a")


def test_on_the_table_the_same_budget_trains_several_times_more_models(tmp_path):
    table = TabularEvaluator("digits-tiny")
    counts = {}
    for min_epochs in (None, 1):
        config = SearchConfig(
            dataset="tabular:digits-tiny", strategy="random", budget=40, seed=0, top_k=0,
            min_epochs=min_epochs, run_dir=str(tmp_path / str(min_epochs)),
        )  # fmt: skip
        counts[min_epochs] = sum(t.new for t in run_search(config, evaluator=table).trials)
    assert counts[None] == 40 and counts[1] > 2.5 * counts[None]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"min_epochs": 8}, "min_epochs must be"),
        ({"min_epochs": 1, "eta": 1}, "eta must be"),
        ({"min_epochs": 1, "prune": True}, "choose one"),
    ],
)
def test_bad_rung_settings_are_refused(settings, message):
    with pytest.raises(ConfigError, match=message):
        SearchConfig(epochs=8, **settings)


def test_screening_trains_the_best_of_n_by_the_proxy_and_stores_the_rest(tmp_path):
    config = SearchConfig(budget=40, seed=2, top_k=0, strategy="random", screen=4)
    summary = run_search(dataclasses.replace(config, run_dir=str(tmp_path / "s")), evaluator=fake())
    new = [t for t in summary.trials if t.new]
    screened = [t for t in summary.trials if t.info.get("screened")]
    assert len(new) == 40 and len(screened) > 80
    assert all(t.result.status is TrialStatus.PRUNED and t.result.epochs == 0 for t in screened)
    assert {t.arch for t in screened}.isdisjoint(
        {t.arch for t in new if t.id < min(s.id for s in screened)}
    )
    gains = []
    for seed in range(3):
        runs = []
        for n in (0, 4):
            run = dataclasses.replace(
                config, seed=seed, screen=n, run_dir=str(tmp_path / f"{seed}{n}")
            )
            runs.append(run_search(run, evaluator=fake()))
        plain, screened_run = ([t.result.val_acc for t in r.trials if t.new] for r in runs)
        gains.append(np.mean(screened_run) - np.mean(plain))
    assert min(gains) > 0 and np.mean(gains) > 0.01  # the fake's proxy is informative: it helps


def test_screening_needs_an_evaluator_that_builds_networks(tmp_path):
    config = SearchConfig(dataset="tabular:digits-tiny", budget=5, screen=3, run_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="cannot screen"):
        run_search(config)
