"""Every strategy must find the fake evaluator's optimum better than random search."""

import functools

import numpy as np
import pytest

from rlnas.config import SearchConfig
from rlnas.search import run_search
from rlnas.spaces import make_space
from rlnas.strategies import STRATEGIES
from rlnas.testing import FakeEvaluator

SEEDS = range(4)
BUDGET = 300
#: Settings for this budget where a paper's defaults are tuned for thousands of children
#: (Zoph & Le's learning rate of 6e-4; ENAS's 310 epochs).
SETTINGS = {
    "reinforce": {"learning_rate": 0.005},
    "enas": {"num_epochs": 5, "controller_train_steps": 10, "learning_rate": 0.01},
}


@functools.cache
def random_outcome(seed, tmp_path):
    """Random search's, computed once for every strategy it is compared with."""
    return outcome("random", seed, tmp_path / "random")


def outcome(strategy, seed, tmp_path):
    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    fake = FakeEvaluator(space, seed=seed)
    config = SearchConfig(
        strategy=strategy,
        budget=BUDGET,
        seed=seed,
        top_k=0,
        run_dir=str(tmp_path / f"{strategy}{seed}"),
        strategy_settings=SETTINGS.get(strategy, {}),
    )
    summary = run_search(config, evaluator=fake)
    values = sorted({t.arch: t.reward for t in summary.trials}.values(), reverse=True)
    return values[0], float(np.mean(values[:10]))


@pytest.mark.parametrize("strategy", sorted(set(STRATEGIES) - {"random"}))
def test_strategy_beats_random_search_on_the_fake_evaluator(strategy, tmp_path, tmp_path_factory):
    ours = np.array([outcome(strategy, s, tmp_path) for s in SEEDS])
    rand = np.array([random_outcome(s, tmp_path_factory.getbasetemp()) for s in SEEDS])
    best_ours, best_rand = ours[:, 0].mean(), rand[:, 0].mean()
    top_ours, top_rand = ours[:, 1].mean(), rand[:, 1].mean()
    assert best_ours > best_rand, (best_ours, best_rand)
    assert top_ours > top_rand + 0.02, (top_ours, top_rand)
