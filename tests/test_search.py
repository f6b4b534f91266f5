"""The search loop with the fake evaluator: determinism, exact resume, run-dir safety."""

import dataclasses

import pytest

from rlnas.arch import parse
from rlnas.config import ConfigError, SearchConfig
from rlnas.runs import ranking
from rlnas.search import Monitor, run_search
from rlnas.spaces import make_space
from rlnas.store import Store
from rlnas.testing import FakeEvaluator

SPACE = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)


def fake(noise=0.02):
    return FakeEvaluator(SPACE, seed=1, noise=noise)


def rows(run_dir):
    with Store(run_dir / "trials.db") as store:
        trials = [dataclasses.replace(t, created=0.0) for t in store.trials()]
        return trials, store.finals(), store.checkpoint()


class Crash(Exception):
    pass


class CrashingFake(FakeEvaluator):
    """Dies (like a killed process) when asked for its n-th new model."""

    def __init__(self, after):
        super().__init__(SPACE, seed=1, noise=0.02)
        self.left = after

    def evaluate(self, arch, seed, *, prune=None):
        self.left -= 1
        if self.left < 0:
            raise Crash
        return super().evaluate(arch, seed, prune=prune)


@pytest.mark.parametrize("strategy", ["qlearning", "random"])
def test_same_seed_gives_an_identical_store(tmp_path, strategy):
    config = SearchConfig(strategy=strategy, budget=80, seed=5, top_k=3)
    run_search(dataclasses.replace(config, run_dir=str(tmp_path / "a")), evaluator=fake())
    run_search(dataclasses.replace(config, run_dir=str(tmp_path / "b")), evaluator=fake())
    assert rows(tmp_path / "a") == rows(tmp_path / "b")
    other = dataclasses.replace(config, seed=6, run_dir=str(tmp_path / "c"))
    run_search(other, evaluator=fake())
    assert rows(tmp_path / "c")[0] != rows(tmp_path / "a")[0]


@pytest.mark.parametrize("crash_after", [0, 1, 17, 59])
def test_resume_after_a_crash_equals_an_uninterrupted_run(tmp_path, crash_after):
    config = SearchConfig(budget=60, seed=2, top_k=2)
    run_search(dataclasses.replace(config, run_dir=str(tmp_path / "whole")), evaluator=fake())
    broken = dataclasses.replace(config, run_dir=str(tmp_path / "broken"))
    with pytest.raises(Crash):
        run_search(broken, evaluator=CrashingFake(crash_after))
    run_search(broken, resume=True, evaluator=fake())
    assert rows(tmp_path / "broken") == rows(tmp_path / "whole")


def test_budget_counts_unique_models(tmp_path):
    summary = run_search(SearchConfig(budget=40, top_k=0, run_dir=str(tmp_path)), evaluator=fake())
    assert sum(t.new for t in summary.trials) == 40
    assert len({t.arch for t in summary.trials}) == 40
    replays = [t for t in summary.trials if not t.new]
    first = {t.arch: t for t in summary.trials if t.new}
    assert all(t.result == first[t.arch].result for t in replays)


def test_a_run_dir_holding_a_search_is_not_overwritten(tmp_path):
    config = SearchConfig(budget=10, top_k=1, run_dir=str(tmp_path))
    run_search(config, evaluator=fake())
    before = rows(tmp_path)
    with pytest.raises(ConfigError, match="already holds a search; pass --resume"):
        run_search(config, evaluator=fake())
    with pytest.raises(ConfigError, match="cannot resume with seed=9"):
        run_search(dataclasses.replace(config, seed=9), resume=True, evaluator=fake())
    assert rows(tmp_path) == before
    with pytest.raises(ConfigError, match="nothing to resume"):
        run_search(dataclasses.replace(config, run_dir=str(tmp_path / "empty")), resume=True)


def test_the_finals_are_the_best_in_rank_order(tmp_path):
    config = SearchConfig(budget=30, top_k=3, run_dir=str(tmp_path))
    summary = run_search(config, evaluator=fake(noise=0))
    assert [f.rank for f in summary.finals] == [1, 2, 3]
    best = max(summary.trials, key=lambda t: t.reward)
    assert summary.finals[0].arch == best.arch
    assert summary.stopped == "budget"


def test_time_limit_stops_the_search(tmp_path):
    class Slow(FakeEvaluator):
        def evaluate(self, arch, seed, *, prune=None):
            import time

            time.sleep(0.05)
            return super().evaluate(arch, seed, prune=prune)

    config = SearchConfig(budget=1000, top_k=0, time_limit=0.3, run_dir=str(tmp_path))
    summary = run_search(config, evaluator=Slow(SPACE, seed=1))
    assert summary.stopped == "time limit"
    assert 1 <= sum(t.new for t in summary.trials) < 20


class Clock:
    """Stands in for the loop's ``time``: seconds pass only when a model is trained."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now

    def time(self):
        return 1e9 + self.now


class Ticking(FakeEvaluator):
    """Each new model takes one second of ``clock``; dies when asked for the n-th."""

    def __init__(self, clock, crash_after=None):
        super().__init__(SPACE, seed=1, noise=0.02)
        self.clock, self.left = clock, crash_after

    def evaluate(self, arch, seed, *, prune=None):
        if self.left is not None:
            self.left -= 1
            if self.left < 0:
                raise Crash
        self.clock.now += 1.0
        return super().evaluate(arch, seed, prune=prune)


class TimeLeft(Monitor):
    def __init__(self):
        self.time_left = []

    def on_start(self, config, status):
        self.time_left.append(status.time_left)

    def on_trial(self, record, status):
        self.time_left.append(status.time_left)


def test_the_time_limit_counts_every_session_of_a_resumed_search(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr("rlnas.search.loop.time", clock)
    config = SearchConfig(budget=1000, time_limit=10.0, seed=4, top_k=0)
    whole = dataclasses.replace(config, run_dir=str(tmp_path / "whole"))
    assert run_search(whole, evaluator=Ticking(clock)).stopped == "time limit"
    trials = rows(tmp_path / "whole")[0]
    assert sum(t.new for t in trials) == 10
    # killed after 4 models: the resumed session gets the 6 seconds left, no more
    broken = dataclasses.replace(config, run_dir=str(tmp_path / "broken"))
    with pytest.raises(Crash):
        run_search(broken, evaluator=Ticking(clock, crash_after=4))
    seen = TimeLeft()
    run_search(broken, resume=True, evaluator=Ticking(clock), monitor=seen)
    assert rows(tmp_path / "broken")[0] == trials
    assert seen.time_left[:2] == [6.0, 5.0]  # what the progress bar counts down from
    # a search that used its time resumes straight to the finals
    summary = run_search(dataclasses.replace(whole, top_k=2), resume=True, evaluator=fake())
    assert summary.stopped == "time limit" and len(summary.finals) == 2
    assert rows(tmp_path / "whole")[0] == trials
    # a larger limit gives it the difference
    longer = dataclasses.replace(whole, time_limit=13.0, top_k=2)
    summary = run_search(longer, resume=True, evaluator=Ticking(clock))
    assert sum(t.new for t in summary.trials) == 13


def test_under_a_time_limit_q_learning_anneals_with_the_time(tmp_path, monkeypatch):
    """A budget (1,000) far above the 40 models the time limit allows: epsilon still goes
    from 1.0 to 0.1 as the time runs out, instead of ending the search still exploring."""
    clock = Clock()
    monkeypatch.setattr("rlnas.search.loop.time", clock)
    config = SearchConfig(budget=1000, time_limit=40.0, seed=4, top_k=0, run_dir=str(tmp_path))
    summary = run_search(config, evaluator=Ticking(clock))
    assert summary.stopped == "time limit"
    epsilons = [t.info["epsilon"] for t in summary.trials if t.new]
    assert len(epsilons) == 40 and epsilons[0] == 1.0 and epsilons[-1] == 0.1
    assert epsilons == sorted(epsilons, reverse=True)


def test_pruning_stops_hopeless_trials_but_not_the_best(tmp_path):
    def run(prune, name):
        config = SearchConfig(budget=150, top_k=5, prune=prune, run_dir=str(tmp_path / name))
        return run_search(config, evaluator=FakeEvaluator(SPACE, seed=1, epochs=8))

    full, pruned = run(False, "full"), run(True, "pruned")
    statuses = [t.result.status.value for t in pruned.trials if t.new]
    assert statuses.count("pruned") > 10
    simulated = [sum(t.result.seconds for t in s.trials if t.new) for s in (full, pruned)]
    assert simulated[1] < 0.85 * simulated[0]
    best = max(pruned.trials, key=lambda t: t.result.val_acc)
    assert best.result.ok  # the best of the run was never cut short


class CountingFake(FakeEvaluator):
    """The fake, counting the shortlist scores and final trainings it is asked for."""

    def __init__(self, noise=0.08):
        super().__init__(SPACE, seed=1, noise=noise)
        self.shortlisted, self.finals = [], []

    def shortlist_score(self, arch, seed, epochs):
        self.shortlisted.append(str(arch))
        return super().shortlist_score(arch, seed, epochs)

    def final(self, arch, seed, epochs, *, save_to=None):
        self.finals.append(str(arch))
        return super().final(arch, seed, epochs, save_to=save_to)


def test_a_shortlist_re_ranks_noisy_search_results_on_validation(tmp_path):
    gains = []
    for seed in range(4):
        config = SearchConfig(budget=60, seed=seed, top_k=2, run_dir=str(tmp_path / f"a{seed}"))
        plain = run_search(config, evaluator=CountingFake())
        fake = CountingFake()
        listed = dataclasses.replace(config, shortlist=8, run_dir=str(tmp_path / f"b{seed}"))
        summary = run_search(listed, evaluator=fake)
        ranked = sorted({t.arch: t for t in reversed(summary.trials)}.values(),
                        key=lambda t: (-t.reward, t.id))[:8]  # fmt: skip
        assert sorted(fake.shortlisted) == sorted(t.arch for t in ranked)
        truth = sorted(ranked, key=lambda t: -fake.score(parse(t.arch)))
        assert [f.arch for f in summary.finals] == [t.arch for t in truth[:2]]
        assert [f.rank for f in summary.finals] == [1, 2]
        assert summary.finals[0].result["shortlist_acc"] == fake.score(parse(truth[0].arch))
        with Store(tmp_path / f"b{seed}" / "trials.db") as store:
            assert len(store.shortlist()) == 8
        # show and export rank the chosen first
        assert ranking(summary.trials, summary.finals)[0].arch == summary.finals[0].arch
        gains.append(summary.finals[0].test_acc - plain.finals[0].test_acc)
    # the search's noisy best is often not the truly best of its top 8; re-ranking finds it
    assert min(gains) >= 0 and max(gains) > 0


def test_shortlist_and_top_k_may_change_on_resume_and_nothing_is_retrained(tmp_path):
    config = SearchConfig(budget=40, top_k=0, run_dir=str(tmp_path))
    run_search(config, evaluator=CountingFake())
    fake = CountingFake()
    more = dataclasses.replace(config, top_k=2, shortlist=5, final_epochs=7)
    summary = run_search(more, resume=True, evaluator=fake)
    assert sum(t.new for t in summary.trials) == 40  # the search was done: not extended
    assert len(fake.shortlisted) == 5 and len(fake.finals) == 2
    assert [f.epochs for f in summary.finals] == [7, 7]
    again = CountingFake()
    assert run_search(more, resume=True, evaluator=again).finals == summary.finals
    assert again.shortlisted == [] and again.finals == []
    with pytest.raises(ConfigError, match="shortlist=1 must be at least top_k=2"):
        dataclasses.replace(more, shortlist=1)
    pruned = dataclasses.replace(config, prune=True, run_dir=str(tmp_path / "p"))
    run_search(pruned, evaluator=CountingFake())
    with pytest.raises(ConfigError, match="cannot resume with top_k=1"):
        run_search(dataclasses.replace(pruned, top_k=1), resume=True, evaluator=CountingFake())


def test_a_crash_in_final_training_keeps_the_finals_done_and_resume_does_the_rest(tmp_path):
    class CrashingFinal(CountingFake):
        def final(self, arch, seed, epochs, *, save_to=None):
            if len(self.finals) == 1:
                raise Crash
            return super().final(arch, seed, epochs, save_to=save_to)

    config = SearchConfig(budget=30, top_k=3, shortlist=4, run_dir=str(tmp_path))
    with pytest.raises(Crash):
        run_search(config, evaluator=CrashingFinal())
    with Store(tmp_path / "trials.db") as store:
        assert [f.rank for f in store.finals()] == [1] and len(store.shortlist()) == 4
    fake = CountingFake()
    summary = run_search(config, resume=True, evaluator=fake)
    assert [f.rank for f in summary.finals] == [1, 2, 3]
    assert fake.shortlisted == [] and len(fake.finals) == 2
