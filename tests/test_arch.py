import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlnas.arch import FC, GAP, Architecture, ArchitectureSyntaxError, Conv, Pool, Softmax, parse
from rlnas.spaces import SPACES, make_space


def test_paper_example_round_trips():
    text = "[C(32,3,1), P(2,2), C(64,3,1), FC(128), SM(10)]"
    arch = parse(text)
    assert arch.layers == (Conv(32, 3, 1), Pool(2, 2), Conv(64, 3, 1), FC(128), Softmax(10))
    assert str(arch) == text
    assert parse("[GAP(10)]").layers == (GAP(10),)


def test_architectures_are_hashable_values():
    a, b = parse("[C(8,3,1), SM(10)]"), parse("[ C(8, 3, 1) ,SM(10) ]")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1


@settings(max_examples=300, deadline=None)
@given(
    space=st.sampled_from(SPACES), seed=st.integers(0, 2**32 - 1), size=st.sampled_from([8, 28, 32])
)
def test_sampled_architectures_round_trip(space, seed, size):
    import numpy as np

    s = make_space(space, input_shape=(1, size, size), num_classes=10)
    arch, _ = s.sample(np.random.default_rng(seed))
    assert parse(str(arch)) == arch


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("[C(8,3), SM(10)]", 6, "','"),
        ("C(8,3,1)", 0, "'['"),
        ("[C(8,3,1)]", 1, "terminal layer"),
        ("[SM(10), C(8,3,1)]", 1, "not terminal"),
        ("[X(3), SM(10)]", 1, "layer name"),
        ("[C(0,3,1), SM(10)]", 3, "positive integer"),
        ("[C(8,3,1), SM(10)] extra", 19, "end of text"),
        ("[C(8,3,1,2), SM(10)]", 8, "')'"),
        ("[C(8,3,1), SM(10)", 17, "']'"),
        ("", 0, "'['"),
    ],
)
def test_malformed_strings_name_position_and_expectation(text, position, expected):
    with pytest.raises(ArchitectureSyntaxError) as info:
        parse(text)
    assert info.value.position == position
    assert expected in info.value.expected
    assert f"position {position}" in str(info.value)


def test_architecture_must_end_in_exactly_one_terminal():
    with pytest.raises(ValueError, match="last layer"):
        Architecture((Conv(8, 3, 1),))
    with pytest.raises(ValueError, match="must be the last"):
        Architecture((Softmax(10), Softmax(10)))


@pytest.mark.parametrize(
    ("layer", "size", "out"),
    [(Conv(8, 3, 1), 7, 7), (Conv(8, 3, 2), 7, 4), (Pool(2, 2), 8, 4), (Pool(3, 2), 8, 4),
     (Pool(5, 3), 8, 2), (Pool(2, 2), 7, 4), (Pool(3, 2), 4, 2), (FC(10), 5, 1)],
)  # fmt: skip
def test_output_sizes_follow_metaqnn(layer, size, out):
    assert layer.output_size(size) == out
