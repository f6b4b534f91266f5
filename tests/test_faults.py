"""The fault-injection suite on every strategy: SIGKILL at random moments, resume, and the
store equals the uninterrupted run's; and each kind of failing trial costs one trial."""

import numpy as np
import pytest

from rlnas.config import SearchConfig
from rlnas.evaluation.image import DataSpec, TrainConfig, TrainingEvaluator
from rlnas.executors import ProcessExecutor
from rlnas.search import run_search
from rlnas.search.scheduler import Scheduler
from rlnas.spaces import make_space
from rlnas.strategies import STRATEGIES, Proposal
from rlnas.testing import FakeEvaluator, FaultyEvaluator, check_kill_resume

#: A shortlist and finals after the search, so kills land in them too.
AFTER = {"shortlist": 3, "top_k": 2}
SETTINGS = {"enas": {"num_epochs": 3}, "reinforce": {"batch_size": 4}}


@pytest.mark.slow
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_sigkill_at_random_moments_then_resume_loses_nothing(strategy, tmp_path):
    space = "enas-macro" if strategy == "enas" else "metaqnn"
    report = check_kill_resume(
        strategy, tmp_path, space=space, settings=SETTINGS.get(strategy), kills=10,
        seed=7, **AFTER,
    )  # fmt: skip
    assert report.kills >= 8 and report.trials >= 20 and report.finals == 2


def test_a_workers_start_up_does_not_count_against_the_trial_timeout(tmp_path):
    """A worker that takes 3 s to load its data, a trial of 0.05 s, a 1 s timeout: the
    clock starts when the worker begins the trial, so it is not killed as hung."""
    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    slow = FaultyEvaluator(FakeEvaluator(space, seed=1), tmp_path / "marks", delay=0.05,
                           load_delay=3.0)  # fmt: skip
    answers = []
    with ProcessExecutor(slow, 1) as executor:
        pids = executor.pids()
        scheduler = Scheduler(executor, max_retries=0, num_classes=10, timeout=1.0,
                              answer=lambda p, result, *_: answers.append(result))  # fmt: skip
        arch, actions = space.sample(np.random.default_rng(0))
        scheduler.start(0, Proposal(arch, actions), 0, None)
        scheduler.settle(scheduler.wait())
        assert executor.pids() == pids  # the same worker: none was killed
    assert [r.error for r in answers] == [None]


@pytest.mark.slow
def test_a_nan_an_oom_a_hang_and_a_dead_worker_each_cost_one_trial(tmp_path):
    inner = TrainingEvaluator(DataSpec(subset=300), TrainConfig(epochs=2), threads=1)
    plan = {1: "nan", 2: "oom", 3: "hang", 4: "die"}
    faulty = FaultyEvaluator(inner, tmp_path / "marks", plan=plan)
    config = SearchConfig(
        budget=7, epochs=2, strategy="random", top_k=0, max_retries=0, trial_timeout=8,
        workers=1, executor="process", run_dir=str(tmp_path / "run"),
    )  # fmt: skip
    summary = run_search(config, evaluator=faulty)
    new = [t for t in summary.trials if t.new]
    errors = [t.result.error or "" for t in new]
    assert len(new) == 7 and summary.stopped == "budget"
    assert "loss became nan" in errors[1] and errors[2] == "out of memory"
    assert "timed out after 8 s" in errors[3] and "worker lost" in errors[4]
    others = errors[:1] + errors[5:]  # no other fault: trained, or honestly stuck at chance
    assert all(e == "" or e.startswith("not better than chance") for e in others)
