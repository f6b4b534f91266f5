"""Hard limits on parameters and FLOPs: the MDP offers exactly the models that fit."""

import numpy as np
import pytest

from rlnas.arch import parse
from rlnas.config import ConfigError, SearchConfig, apply_settings
from rlnas.evaluation.costs import count_flops, count_params
from rlnas.nn import BuildOptions
from rlnas.search import run_search
from rlnas.spaces import MetaQNNConfig, MetaQNNSpace, make_space
from rlnas.spaces.metaqnn import PRESETS
from rlnas.testing import FakeEvaluator


def costs(arch, shape, batch_norm):
    options = BuildOptions(batch_norm=batch_norm)
    return count_params(arch, shape, 10, options), count_flops(arch, shape, 10)


@pytest.mark.parametrize(
    ("shape", "batch_norm", "quantiles"),
    [((1, 8, 8), False, (0.3, 1.0)), ((3, 10, 12), True, (0.5, 0.4)), ((1, 8, 8), False, (1, 0.2))],
)
def test_limited_space_is_exactly_the_models_within_the_limits(shape, batch_norm, quantiles):
    """Brute force: with limits, the space produces every model of the unlimited space whose
    exact costs fit, and nothing else; a model exactly at the limit stays reachable."""
    cfg = PRESETS["metaqnn-tiny"]
    every = MetaQNNSpace(cfg, image_size=min(shape[1:]), num_classes=10, input_shape=shape)
    table = {a: costs(a, shape, batch_norm) for a in every.architectures()}
    params, flops = (sorted(c[i] for c in table.values()) for i in (0, 1))
    max_params = params[int(quantiles[0] * (len(params) - 1))]
    max_flops = flops[int(quantiles[1] * (len(flops) - 1))]
    limited = MetaQNNSpace(
        apply_settings(
            MetaQNNConfig, cfg, {"max_params": max_params, "max_flops": max_flops,
            "batch_norm": batch_norm}, name="space",
        ),
        image_size=min(shape[1:]), num_classes=10, input_shape=shape,
    )  # fmt: skip
    found = set(limited.architectures())
    expected = {a for a, (p, f) in table.items() if p <= max_params and f <= max_flops}
    assert found == expected
    assert 0 < len(found) < len(table)
    at_limit = [a for a in expected if table[a][0] == max_params or table[a][1] == max_flops]
    assert at_limit and all(limited.contains(a) for a in at_limit)


def test_a_hard_limited_search_never_trains_an_over_budget_model(tmp_path):
    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    rng = np.random.default_rng(0)
    samples = [space.sample(rng)[0] for _ in range(500)]
    budget = int(np.median([count_params(a, (1, 8, 8), 10) for a in samples]))
    target = max(
        (a for a in samples if count_params(a, (1, 8, 8), 10) <= budget),
        key=lambda a: count_params(a, (1, 8, 8), 10),
    )  # the fake evaluator's optimum: a model just under the budget
    fake = FakeEvaluator(space, target=target)
    config = SearchConfig(
        budget=200, max_params=budget, top_k=0, seed=1, run_dir=str(tmp_path / "run")
    )
    summary = run_search(config, evaluator=fake)
    trained = [t.arch for t in summary.trials if t.new]
    assert len(trained) == 200
    assert max(count_params(parse(a), (1, 8, 8), 10) for a in trained) <= budget
    limited = make_space(
        "metaqnn", input_shape=(1, 8, 8), num_classes=10, overrides={"max_params": budget}
    )
    assert limited.contains(target)


def test_limits_that_nothing_fits_and_spaces_without_limits_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"no architecture of the metaqnn space fits.*smallest"):
        run_search(SearchConfig(max_params=15, run_dir=str(tmp_path / "a")))
    assert not (tmp_path / "a" / "config.json").exists()
