"""NAS-RL's REINFORCE strategy: exact checkpoints mid-batch, exact resume, determinism."""

import dataclasses
import pickle

import numpy as np
import pytest

from rlnas.config import SearchConfig
from rlnas.search import run_search
from rlnas.spaces import make_space
from rlnas.store import Store
from rlnas.strategies import Feedback, Reinforce
from rlnas.testing import FakeEvaluator

SPACE = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
SETTINGS = {"learning_rate": 0.01, "batch_size": 4}


def step(strategy, fake):
    proposal = strategy.propose()
    result = fake.evaluate(proposal.architecture, seed=0)
    strategy.observe(Feedback(proposal, result.val_acc, result, True))
    return proposal


@pytest.mark.parametrize("space_name", ["metaqnn", "enas-macro"])
def test_a_state_dict_taken_mid_batch_continues_identically(space_name):
    space = make_space(space_name, input_shape=(1, 8, 8), num_classes=10)
    fake = FakeEvaluator(space, seed=1, noise=0.01)
    a = Reinforce(space, budget=50, seed=7, **SETTINGS)
    for _ in range(10):  # two updates, then half a batch observed and half queued
        step(a, fake)
    assert a.updates == 2 and len(a.batch) == 2 and len(a.queue) == 2
    b = Reinforce(space, budget=50, seed=123, **SETTINGS)  # other seed: all must come back
    b.load_state_dict(pickle.loads(pickle.dumps(a.state_dict())))
    for _ in range(25):
        assert step(a, fake) == step(b, fake)
    assert pickle.dumps(a.state_dict()) == pickle.dumps(b.state_dict())


def canonical(value):
    """``value`` with numpy arrays as (dtype, shape, bytes), so that == compares them."""
    if isinstance(value, np.ndarray):
        return (str(value.dtype), value.shape, value.tobytes())
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(canonical(v) for v in value)
    return value


def rows(run_dir):
    """Trials (less wall-clock times) and the checkpoint."""
    with Store(run_dir / "trials.db") as store:
        trials = [dataclasses.replace(t, created=0.0) for t in store.trials()]
        return trials, canonical(store.checkpoint())


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


def test_resume_after_a_crash_equals_an_uninterrupted_run_and_seeds_matter(tmp_path):
    config = SearchConfig(
        strategy="reinforce", budget=40, seed=2, top_k=0, strategy_settings=SETTINGS
    )
    whole = dataclasses.replace(config, run_dir=str(tmp_path / "whole"))
    run_search(whole, evaluator=FakeEvaluator(SPACE, seed=1, noise=0.02))
    again = dataclasses.replace(config, run_dir=str(tmp_path / "again"))
    run_search(again, evaluator=FakeEvaluator(SPACE, seed=1, noise=0.02))
    assert rows(tmp_path / "again") == rows(tmp_path / "whole")
    for crash_after in (6, 23):  # mid-batch
        broken = dataclasses.replace(config, run_dir=str(tmp_path / f"broken{crash_after}"))
        with pytest.raises(Crash):
            run_search(broken, evaluator=CrashingFake(crash_after))
        run_search(broken, resume=True, evaluator=FakeEvaluator(SPACE, seed=1, noise=0.02))
        assert rows(tmp_path / f"broken{crash_after}") == rows(tmp_path / "whole")
    other = dataclasses.replace(config, seed=3, run_dir=str(tmp_path / "other"))
    run_search(other, evaluator=FakeEvaluator(SPACE, seed=1, noise=0.02))
    assert rows(tmp_path / "other")[0] != rows(tmp_path / "whole")[0]


def test_bad_settings_are_a_clear_error(tmp_path):
    from rlnas.config import ConfigError

    config = SearchConfig(
        strategy="reinforce", budget=5, run_dir=str(tmp_path), strategy_settings={"alpha": 1}
    )
    with pytest.raises(ConfigError, match=r"invalid settings for strategy 'reinforce'.*alpha"):
        run_search(config, evaluator=FakeEvaluator(SPACE, seed=1))
