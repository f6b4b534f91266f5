"""Searching on a local Ray cluster: the executor contract, a killed worker survived, and
training from the data set in the object store (the files may be gone)."""

import numpy as np
import pytest
import torch

from rlnas.arch import parse
from rlnas.config import SearchConfig
from rlnas.executors import RayExecutor
from rlnas.search import build_evaluator, run_search, trial_seed
from rlnas.spaces import make_space
from rlnas.testing import FakeEvaluator, FaultyEvaluator, check_executor
from rlnas.testing.executors import Resident

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def cluster():
    """One local cluster for the module: starting Ray takes seconds."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_executor_meets_the_contract():
    executor = RayExecutor(Resident("ray"), workers=2)
    try:
        check_executor(executor, "ray")
    finally:
        executor.shutdown()
    assert ray.is_initialized(), "a cluster the executor did not start must stay up"


def test_ray_search_survives_killed_workers(tmp_path):
    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    inner = FakeEvaluator(space, seed=1, noise=0.02)
    evaluator = FaultyEvaluator(inner, tmp_path / "marks", die_once=0.2)
    # Random search: the architectures (so the kills) do not depend on finishing order.
    config = SearchConfig(
        strategy="random", budget=6, seed=0, top_k=0, executor="ray", run_dir=str(tmp_path)
    )
    summary = run_search(config, evaluator=evaluator)
    new = [t for t in summary.trials if t.new]
    assert summary.stopped == "budget" and len({t.arch for t in new}) == len(new) == 6
    killed = [t for t in new if evaluator.fate(t.arch) == "once"]
    assert len(killed) == 1
    assert all(t.info["worker_lost"] == 1 and evaluator.attempts(t.arch) == 2 for t in killed)
    for t in summary.trials:
        assert t.result == inner.evaluate(parse(t.arch), trial_seed(config.seed, t.arch))


def test_ray_trains_on_the_data_set_from_the_object_store(tmp_path):
    rng = np.random.default_rng(0)
    y = np.arange(120) % 3
    x = (rng.random((120, 8, 8)) * 0.3 + y[:, None, None] / 3).astype(np.float32)
    path = tmp_path / "tiny.npz"
    np.savez(path, x=x, y=y)
    config = SearchConfig(
        dataset=f"npz:{path}", budget=3, epochs=2, seed=1, top_k=0, device="cpu", threads=1,
        executor="ray", workers=2, run_dir=str(tmp_path / "run"),
        train_settings={"max_restarts": 0},
    )  # fmt: skip
    evaluator = build_evaluator(config)
    path.unlink()  # the workers can only get the data from the object store now
    summary = run_search(config, evaluator=evaluator)
    assert sum(t.new for t in summary.trials) == 3
    assert all(t.result.error is None or "chance" in t.result.error for t in summary.trials)
    threads = torch.get_num_threads()
    try:
        for t in summary.trials:  # trained here again: the same curves
            again = evaluator.evaluate(parse(t.arch), trial_seed(config.seed, t.arch))
            assert again.val_curve == t.result.val_curve
    finally:
        torch.set_num_threads(threads)
