"""The BlockQNN MDP: both variants offer exactly the legal NSC layers, at most max_layers."""

import numpy as np
import pytest

from rlnas.arch import Architecture, parse
from rlnas.arch.blockqnn import BHead, BlockLayer, leaves, node_shapes
from rlnas.spaces import make_space


def valid(prefix, layer, max_layers, multi, shape):
    """Brute force: appending ``layer`` gives a well-formed graph within the limits."""
    position = len(prefix) + 1
    if isinstance(layer, BHead):
        return True
    if position >= max_layers:
        return False
    if not multi and layer.preds != (1,):
        return False
    try:
        node_shapes(Architecture((*prefix, layer, BHead(4, 10))), shape)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name", ["blockqnn", "blockqnn-chain"])
@pytest.mark.parametrize("side", [8, 28])
def test_offered_actions_equal_brute_force(name, side):
    space = make_space(name, input_shape=(1, side, side), num_classes=10)
    multi = name == "blockqnn"
    rng = np.random.default_rng(side)
    for _ in range(40):
        state = space.initial_state()
        while not space.is_terminal(state):
            legal = space.actions(state)
            brute = tuple(
                i
                for i, layer in enumerate(space.vocabulary)
                if valid(state.layers, layer, 10, multi, (1, side, side))
            )
            assert legal == brute, state.layers
            state = space.step(state, legal[int(rng.integers(len(legal)))])
        arch = space.architecture(state)
        assert len(arch) <= 10 and parse(str(arch)) == arch
        assert space.trajectory(arch) is not None


def test_chain_variant_is_the_seed_action_set():
    space = make_space("blockqnn-chain", input_shape=(1, 8, 8), num_classes=5)
    tokens = [layer.token for layer in space.vocabulary]
    assert tokens == ["BC"] * 3 + ["BMP"] * 2 + ["BAP"] * 2 + ["BHEAD"]
    assert all(layer.preds == (1,) for layer in space.vocabulary if not layer.terminal)
    # every action is legal until the last position, where only the terminal is
    state = space.initial_state()
    for _ in range(9):
        assert len(space.actions(state)) == 8
        state = space.step(state, 0)
    assert space.actions(state) == (7,)
    arch = space.architecture(space.step(state, 7))
    assert len(arch) == 10 and leaves(arch) == [9]


def test_multi_branch_offers_joins_of_matching_shapes_only():
    space = make_space("blockqnn", input_shape=(1, 8, 8), num_classes=10)
    vocab = {str(layer): i for i, layer in enumerate(space.vocabulary)}
    state = space.initial_state()
    for text in ("BC(32,3,1)", "BC(32,5,2)"):  # two convolutions of the input
        state = space.step(state, vocab[text])
    legal = {str(space.vocabulary[a]) for a in space.actions(state)}
    assert {"BADD(1,2)", "BCAT(1,2)", "BCAT(1,3)", "BID(3)"} <= legal
    assert "BADD(1,3)" not in legal  # 32 channels + the 1-channel input
    state = space.step(state, vocab["BMP(2,1)"])  # node 3: 4x4
    legal = {str(space.vocabulary[a]) for a in space.actions(state)}
    assert "BCAT(1,2)" not in legal and "BCAT(2,3)" in legal
    with pytest.raises(ValueError, match="not a legal action"):
        space.step(state, vocab["BCAT(1,2)"])


def test_observation_is_nasgym_one_hot_nsc_matrix():
    space = make_space("blockqnn", input_shape=(1, 8, 8), num_classes=10)
    vocab = {str(layer): i for i, layer in enumerate(space.vocabulary)}
    width = 8 + 6 + 10 + 10  # types (empty first), kernels 0..5, pred1, pred2
    empty = space.encode(space.initial_state()).reshape(10, width)
    assert (empty[:, 0] == 1).all() and empty.sum() == 10
    actions = [vocab[t] for t in ("BC(32,5,1)", "BMP(2,1)", "BC(32,3,1)", "BCAT(1,2)")]
    rows = space.encode(space.rollout(actions)).reshape(10, width)
    assert np.flatnonzero(rows[0]).tolist() == [1, 8 + 5, 14 + 0]  # conv k5 of the input
    assert np.flatnonzero(rows[1]).tolist() == [2, 8 + 2, 14 + 1]  # max pool of node 1
    assert np.flatnonzero(rows[3]).tolist() == [6, 8 + 0, 14 + 3, 24 + 2]  # concat of 3 and 2
    assert (rows[4:, 0] == 1).all() and rows[4:].sum() == 6
    chain = make_space("blockqnn-chain", input_shape=(1, 8, 8), num_classes=10)
    assert chain.encode(chain.initial_state()).shape == (10 * (8 + 6 + 10),)


def test_settings_override_and_reject_unknown_keys():
    space = make_space(
        "blockqnn-chain",
        input_shape=(3, 16, 16),
        num_classes=4,
        overrides={"filters": 8, "kernels": [3], "max_layers": 4, "head_units": 0},
    )
    assert [str(x) for x in space.vocabulary] == [
        "BC(8,3,1)", "BMP(2,1)", "BMP(3,1)", "BAP(2,1)", "BAP(3,1)", "BHEAD(0,4)",
    ]  # fmt: skip
    assert space.horizon == 4
    assert all(len(a) <= 4 for a in space.architectures())
    assert all(isinstance(layer, BlockLayer) for layer in space.vocabulary)
    with pytest.raises(ValueError, match=r"unknown \[space\] setting"):
        make_space("blockqnn", input_shape=(1, 8, 8), num_classes=10, overrides={"depth": 3})
    with pytest.raises(ValueError, match="head_units"):
        make_space("blockqnn", input_shape=(1, 8, 8), num_classes=10, overrides={"head_units": -1})
