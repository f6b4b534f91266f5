"""Recurrent language models in the grammar: tokens round-trip, bad cells are named, and the
parameter arithmetic and the equal-size LSTM are exact."""

import pytest

import rlnas  # noqa: F401  (registers the tokens)
from rlnas.arch import LAYER_TYPES, ArchitectureSyntaxError, parse
from rlnas.arch.rnn import ACTIVATIONS, RnnPlan, equal_size_lstm, make_cell_node, rnn_plan


def test_every_token_round_trips_through_the_grammar():
    texts = [
        "[CELL(16,32), TANH(0), RELU(1), SIGM(1), IDENT(3), LM(50)]",
        "[CELL(1,1), IDENT(0), LM(2)]",
        "[LSTM(16,40), LM(50)]",
    ]
    for text in texts:
        arch = parse(text)
        assert str(arch) == text and parse(str(arch)) == arch
        assert arch.family == "rnn" and arch.num_classes == int(text.split("LM(")[1][:-2])
    for activation in ACTIVATIONS:
        node = make_cell_node(activation, 2)
        assert LAYER_TYPES[node.token] is type(node) and node.activation == activation
    assert {"CELL", "LSTM", "TANH", "RELU", "SIGM", "IDENT", "LM"} <= set(LAYER_TYPES)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[CELL(8,8), TANH(1), LM(10)]", r"node 1 TANH\(1\) reads node 1; node 1 may read 0"),
        ("[CELL(8,8), TANH(0), RELU(0), LM(10)]", r"node 2 .* may read nodes 1..1"),
        ("[CELL(8,8), TANH(0), RELU(1), SIGM(3), LM(10)]", r"node 3 .* may read nodes 1..2"),
        ("[CELL(8,8), LM(10)]", r"needs at least one node"),
        ("[LSTM(8,8), TANH(0), LM(10)]", r"has no cell nodes"),
        ("[CELL(8,8), C(8,3,1), LM(10)]", r"is not a cell node"),
        ("[TANH(0), LM(10)]", r"starts with CELL\(e,h\) or LSTM\(e,h\)"),
    ],
)
def test_invalid_cells_are_rejected_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        rnn_plan(parse(text))


def test_syntax_errors_name_the_position():
    with pytest.raises(ArchitectureSyntaxError, match="position 7: expected ','"):
        parse("[CELL(8), TANH(0), LM(10)]")
    with pytest.raises(ArchitectureSyntaxError, match="a layer that is not terminal"):
        parse("[CELL(8,8), LM(10), TANH(0), LM(10)]")
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        make_cell_node("gelu", 0)


def test_loose_ends_and_edges():
    plan = rnn_plan(parse("[CELL(8,8), TANH(0), RELU(1), SIGM(1), IDENT(2), TANH(4), LM(10)]"))
    assert plan.loose_ends == (3, 5)  # nodes 1, 2 and 4 are read by later nodes
    assert plan.edges == ((2, 1), (3, 1), (4, 2), (5, 4))


def test_equal_size_lstm_is_the_closest_lstm_by_brute_force():
    for text in (
        "[CELL(16,32), TANH(0), RELU(1), SIGM(1), IDENT(2), LM(50)]",
        "[CELL(64,64), TANH(0), RELU(1), RELU(2), RELU(3), TANH(4), SIGM(5), IDENT(6), LM(10000)]",
        "[CELL(3,2), TANH(0), LM(5)]",
    ):
        plan = rnn_plan(parse(text))
        lstm = rnn_plan(equal_size_lstm(parse(text)))
        assert (lstm.kind, lstm.embedding, lstm.vocab) == ("lstm", plan.embedding, plan.vocab)

        def gap(h, plan=plan):
            return abs(RnnPlan("lstm", plan.embedding, h, (), plan.vocab).params() - plan.params())

        assert gap(lstm.hidden) == min(gap(h) for h in range(1, 4 * plan.hidden + 10))
