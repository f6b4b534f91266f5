"""Rewards against hand-computed values, spec parsing, and custom reward functions."""

import json

import pytest

from rlnas.config import ConfigError, SearchConfig
from rlnas.evaluation.rewards import MnasReward, PenalizedReward, make_reward, needs_latency
from rlnas.results import EvalResult, TrialStatus
from rlnas.search import run_search
from rlnas.spaces import make_space
from rlnas.testing import FakeEvaluator


def result(acc=0.9, params=20_000, latency=3.0, status=TrialStatus.OK):
    return EvalResult(status, acc, 10, params=params, latency_ms=latency)


def test_penalized_matches_the_seed_formula():
    r = make_reward("penalized:params=10k,latency=2ms,lambda_size=0.3,lambda_latency=0.2")
    assert r == PenalizedReward(10_000, 2.0, 0.3, 0.2)
    # 0.9 - 0.3 * (20000 / 10000 - 1) - 0.2 * (3 / 2 - 1) = 0.9 - 0.3 - 0.1
    assert r(result()) == pytest.approx(0.5)
    assert r(result(params=9_000, latency=1.0)) == pytest.approx(0.9)  # under both limits
    assert r(result(status=TrialStatus.FAILED)) == pytest.approx(0.1)
    size_only = make_reward("penalized:params=40000")
    assert size_only(result(params=60_000)) == pytest.approx(0.9 - 0.5)
    assert not needs_latency(size_only)
    # the latency limit falls back to --max-latency-ms
    assert make_reward("penalized", latency_ms=1.5) == PenalizedReward(None, 1.5)


def test_mnas_soft_and_hard_match_the_paper():
    soft = make_reward("mnas:T=2ms")
    assert soft == MnasReward(2.0, -0.07, -0.07)
    assert soft(result(acc=0.8, latency=4.0)) == pytest.approx(0.8 * 2**-0.07)
    assert soft(result(acc=0.8, latency=1.0)) == pytest.approx(0.8 * 0.5**-0.07)
    hard = make_reward("mnas:T=2ms,hard")
    assert hard(result(acc=0.8, latency=1.0)) == pytest.approx(0.8)
    assert hard(result(acc=0.8, latency=4.0)) == pytest.approx(0.4)
    assert make_reward("mnas:T=0.002s,w=-0.1")(result(acc=0.5, latency=4)) == pytest.approx(
        0.5 * 2**-0.1
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope", "unknown reward 'nope'"),
        ("penalized", "needs a limit"),
        ("penalized:size=3", "unknown option 'size'"),
        ("penalized:params=lots", "not a count"),
        ("mnas", "needs a positive latency target"),
        ("mnas:T=fast", "not a duration"),
        ("accuracy:x=1", "unknown option 'x'"),
    ],
)
def test_bad_reward_specs_say_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        make_reward(spec)


def test_a_custom_reward_function_drives_the_search_and_must_be_given_to_resume(tmp_path):
    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    fake = FakeEvaluator(space, seed=0)
    seen = []

    def shortest(res: EvalResult) -> float:
        seen.append(res)
        return res.val_acc - 0.01 * len(res.val_curve)

    config = SearchConfig(budget=5, top_k=0, run_dir=str(tmp_path / "r"))
    summary = run_search(config, evaluator=fake, reward=shortest)
    assert [t.reward for t in summary.trials] == [shortest(t.result) for t in summary.trials]
    assert len(seen) >= 5
    stored = (tmp_path / "r" / "config.json").read_text()
    assert '"reward": "custom:' in stored
    resumed = SearchConfig.from_dict(json.loads(stored))
    with pytest.raises(ConfigError, match="pass the function again"):
        run_search(resumed, resume=True, evaluator=fake)
