"""The MetaQNN MDP obeys every rule of the paper, checked against an independent statement."""

import math

import numpy as np
import pytest

from rlnas.arch import FC, GAP, Conv, Pool, Softmax
from rlnas.config import apply_settings
from rlnas.spaces import MetaQNNConfig, make_space
from rlnas.spaces.metaqnn import PRESETS


def size_bin(r):
    return 8 if r > 7 else 4 if r >= 4 else 1


def allowed(prefix, layer, cfg, image_size):
    """Brute-force statement of the paper's rules on a layer sequence."""
    r, depth, fc_run = image_size, 0, 0
    prev = None
    for p in prefix:
        if isinstance(p, Conv):
            r = math.ceil(r / p.stride)
        elif isinstance(p, Pool):
            r = math.ceil((r - p.size) / p.stride) + 1
        elif isinstance(p, FC):
            r = 1
        fc_run = fc_run + 1 if isinstance(p, FC) else 0
        depth += 1
        prev = p
    if prev is not None and prev.terminal:
        return False
    if isinstance(layer, Softmax):
        return layer.classes == 10
    if isinstance(layer, GAP):
        return not isinstance(prev, FC)
    if depth >= cfg.max_depth:
        return False
    if isinstance(layer, Conv):
        return not isinstance(prev, FC) and layer.kernel < r
    if isinstance(layer, Pool):
        return isinstance(prev, Conv) and layer.size < r
    if isinstance(layer, FC):
        if isinstance(prev, FC):
            return fc_run < cfg.max_fc and layer.units <= prev.units
        return size_bin(r) <= 4
    return False


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("image_size", [8, 28, 32])
def test_offered_actions_equal_brute_force(preset, image_size):
    space = make_space(preset, input_shape=(1, image_size, image_size), num_classes=10)
    rng = np.random.default_rng(image_size)
    checked = 0
    for _ in range(300):
        state = space.initial_state()
        while not space.is_terminal(state):
            legal = space.actions(state)
            brute = tuple(
                i for i, layer in enumerate(space.vocabulary)
                if allowed(state.layers, layer, space.cfg, image_size)
            )  # fmt: skip
            assert legal == brute, state
            checked += 1
            state = space.step(state, legal[int(rng.integers(len(legal)))])
        assert space.actions(state) == ()
    assert checked > 600  # at least two decisions per path on average


def test_ten_thousand_trajectories_obey_every_rule():
    space = make_space("metaqnn", input_shape=(1, 28, 28), num_classes=10)
    rng = np.random.default_rng(0)
    kinds = set()
    for _ in range(10_000):
        arch, actions = space.sample(rng)
        layers = arch.layers
        assert space.trajectory(arch) == actions
        assert len(layers) - 1 <= space.cfg.max_depth
        assert not isinstance(layers[0], Pool), "no pooling first"
        for i, layer in enumerate(layers):
            assert allowed(layers[:i], layer, space.cfg, 28), arch
            if i and isinstance(layer, Pool):
                assert not isinstance(layers[i - 1], Pool), "no pooling twice in a row"
        fc = [layer.units for layer in layers if isinstance(layer, FC)]
        assert len(fc) <= 2 and fc == sorted(fc, reverse=True)
        kinds.update(type(layer) for layer in layers)
    assert kinds == {Conv, Pool, FC, GAP, Softmax}


def test_depth_limit_leaves_only_termination():
    space = make_space(
        "metaqnn", input_shape=(1, 28, 28), num_classes=10, overrides={"max_depth": 2}
    )
    state = space.initial_state()
    conv = space.vocabulary.index(Conv(8, 3, 1))
    state = space.step(space.step(state, conv), conv)
    assert {type(space.vocabulary[a]) for a in space.actions(state)} == {GAP, Softmax}


def test_fc_only_from_small_representations():
    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    conv = space.vocabulary.index(Conv(8, 3, 1))
    s = space.step(space.initial_state(), conv)  # R = 8 -> bin 8: no FC
    assert not any(isinstance(space.vocabulary[a], FC) for a in space.actions(s))
    s = space.step(s, space.vocabulary.index(Pool(2, 2)))  # R = 4 -> bin 4: FC allowed
    assert any(isinstance(space.vocabulary[a], FC) for a in space.actions(s))
    assert space.key(s)[5] == 4


def test_illegal_step_is_rejected():
    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    with pytest.raises(ValueError, match="not a legal action"):
        space.step(space.initial_state(), space.vocabulary.index(Pool(2, 2)))


def test_paper_preset_has_the_papers_values():
    cfg = PRESETS["metaqnn-paper"]
    assert cfg.filters == (64, 128, 256, 512) and cfg.kernels == (1, 3, 5)
    assert cfg.fc_units == (512, 256, 128) and cfg.max_depth == 12
    assert cfg.pools == ((5, 3), (3, 2), (2, 2))


def test_encode_is_fixed_length():
    space = make_space("metaqnn", input_shape=(1, 28, 28), num_classes=10)
    rng = np.random.default_rng(1)
    lengths = set()
    for _ in range(50):
        _, actions = space.sample(rng)
        state = space.initial_state()
        for a in actions:
            state = space.step(state, a)
            lengths.add(space.encode(state).shape)
    assert len(lengths) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"filters": []}, "filters"), ({"max_depth": -1}, "max_depth"),
     ({"bogus": 1}, r"unknown \[space\] setting"), ({"terminals": ["maybe"]}, "terminals"),
     ({"pools": [[2]]}, "pools")],
)  # fmt: skip
def test_invalid_settings_are_rejected_by_name(overrides, message):
    with pytest.raises(ValueError, match=message):
        apply_settings(MetaQNNConfig, PRESETS["metaqnn"], overrides, name="space")
