"""The enas-macro MDP: every path is a valid macro network that round-trips, and back."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlnas.arch import ArchitectureSyntaxError, parse
from rlnas.arch.enas import AvgPoolNode, Head, Reduce, Stem, plan
from rlnas.spaces import EnasMacroSpace, make_space
from rlnas.spaces.enas_macro import EnasMacroConfig


def space(**settings):
    return make_space("enas-macro", input_shape=(1, 28, 28), num_classes=10, overrides=settings)


def follow(space, choices):
    """The legal path that picks choice % len(legal) at each step (any list of ints)."""
    state, actions = space.initial_state(), []
    for choice in itertools.cycle(choices or [0]):
        if space.is_terminal(state):
            return state, tuple(actions)
        legal = space.actions(state)
        actions.append(legal[choice % len(legal)])
        state = space.step(state, actions[-1])
    raise AssertionError("unreachable")


@settings(max_examples=300, deadline=None)
@given(
    layers=st.integers(1, 12),
    stages=st.integers(1, 3),
    choices=st.lists(st.integers(0, 2**16), max_size=80),
)
def test_every_path_is_a_macro_network_that_round_trips(layers, stages, choices):
    s = space(num_layers=max(layers, stages), filters=[8 * 2**i for i in range(stages)])
    state, actions = follow(s, choices)
    arch = s.architecture(state)
    assert parse(str(arch)) == arch  # the string form is stored and shown
    assert s.trajectory(arch) == actions  # and maps back to the same decisions
    dag = plan(arch)
    assert len(dag.nodes) == s.cfg.num_layers and len(actions) <= s.horizon
    assert dag.widths == s.cfg.filters
    assert sum(isinstance(layer, Reduce) for layer in arch.layers) == stages - 1
    assert isinstance(arch.layers[0], Stem) and isinstance(arch.layers[-1], Head)
    for i, node in enumerate(dag.nodes):  # a node reads node i-1 and skips from 0..i-2
        assert all(j <= i - 2 for j in node.sources)


def test_the_space_is_exactly_ops_times_skip_subsets():
    s = space(num_layers=4, filters=[8, 16], ops=["conv3", "max3"])
    archs = s.architectures()
    # 2 ops per node; nodes 3 and 4 may read 1 and 2 earlier nodes: 2^4 * 2^(1+2)
    assert len(archs) == len(set(archs)) == 2**4 * 2**3
    assert s.horizon == 4 + 1 + 2
    assert all(s.contains(a) for a in archs)


def test_link_steps_name_the_step_that_created_the_source_node():
    s = space(num_layers=5)
    state, t, anchor = s.initial_state(), 0, {}
    while not s.is_terminal(state):
        decision = s.link_decision(state)
        if decision is None:
            anchor[len(state.ops)] = t  # this step creates node len(ops)
            action = 2
        else:
            assert decision.source_step == anchor[state.source]
            assert s.actions(state) == (decision.link, decision.no_link)
            action = decision.link if state.source % 2 == 0 else decision.no_link
        state, t = s.step(state, action), t + 1
    nodes = plan(s.architecture(state)).nodes
    assert [n.sources for n in nodes] == [(), (), (0,), (0,), (0, 2)]


def test_trajectory_rejects_architectures_of_another_shape():
    s = space(num_layers=3, filters=[16, 32])
    for text in (
        "[STEM(16), CONV(3,0), SEP(5,0), MAXP(3,1), HEAD(10)]",  # no reduction
        "[STEM(16), CONV(3,0), SEP(5,0), RED(64), MAXP(3,1), HEAD(10)]",  # wrong width
        "[STEM(16), CONV(7,0), SEP(5,0), RED(32), MAXP(3,1), HEAD(10)]",  # not an op here
        "[C(8,3,1), SM(10)]",
    ):
        assert not s.contains(parse(text)), text
    assert s.contains(parse("[STEM(16), CONV(3,0), SEP(5,0), RED(32), MAXP(3,1), HEAD(10)]"))


def test_encode_is_fixed_length_and_tells_states_apart():
    s = space(num_layers=4)
    rng = np.random.default_rng(0)
    seen = {}
    for _ in range(50):
        state = s.initial_state()
        while not s.is_terminal(state):
            code = s.encode(state)
            assert code.dtype == np.float32 and code.shape == s.encode(s.initial_state()).shape
            seen.setdefault((len(state.ops), state.source, state.ops[-1:]), code.tobytes())
            state = s.step(state, int(rng.choice(s.actions(state))))
    assert len(set(seen.values())) == len(seen)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"num_layers": 0}, "num_layers"),
        ({"filters": []}, "filters"),
        ({"filters": [8, 16, 32], "num_layers": 2}, "every stage needs at least one node"),
        ({"ops": ["conv4"]}, "odd kernel"),
        ({"ops": ["dil3"]}, "unknown operation"),
        ({"width": 3}, r"unknown \[space\] setting"),
    ],
)
def test_bad_space_settings_say_what_is_wrong(settings, message):
    with pytest.raises(ValueError, match=message):
        space(**settings)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[CONV(3,0), HEAD(10)]", "starts with STEM"),
        ("[STEM(8), HEAD(10)]", "at least one node"),
        ("[STEM(8), RED(16), CONV(3,0), HEAD(10)]", "between two nodes"),
        ("[STEM(8), CONV(3,0), RED(16), HEAD(10)]", "between two nodes"),
        ("[STEM(8), CONV(4,0), HEAD(10)]", "odd kernel"),
        ("[STEM(8), CONV(3,0), SEP(3,1), HEAD(10)]", "node 1 is its input"),
        ("[STEM(8), CONV(3,0), SEP(3,0), MAXP(3,4), HEAD(10)]", "node 3 is the node itself"),
        ("[STEM(8), CONV(3,0), SEP(3,0), MAXP(3,8), HEAD(10)]", "node 4 is after it"),
        ("[STEM(8), C(8,3,1), HEAD(10)]", "not a macro-network layer"),
    ],
)
def test_invalid_macro_networks_are_rejected_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        plan(parse(text))


def test_grammar_reads_zero_skip_masks_but_not_zero_kernels():
    assert parse("[STEM(8), AVGP(3,0), HEAD(10)]").layers[1] == AvgPoolNode(3, 0)
    with pytest.raises(ArchitectureSyntaxError, match="positive integer"):
        parse("[STEM(8), AVGP(0,0), HEAD(10)]")


def test_registered_as_enas_macro():
    s = make_space("enas-macro", input_shape=(1, 8, 8), num_classes=10)
    assert isinstance(s, EnasMacroSpace) and s.cfg == EnasMacroConfig()
    assert s.config()["family"] == "enas"
