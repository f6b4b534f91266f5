"""BlockQNN's Network Structure Code: grammar, graph shapes, leaves and NSC rows."""

import pytest

from rlnas.arch import ArchitectureSyntaxError, parse
from rlnas.arch.blockqnn import BAdd, BConv, BHead, leaves, node_shapes, nsc_rows


def test_tokens_round_trip_and_carry_the_class_count():
    text = "[BC(32,3,1), BMP(2,1), BAP(3,2), BID(3), BADD(1,4), BCAT(2,5), BHEAD(0,7)]"
    arch = parse(text)
    assert str(arch) == text
    assert arch.family == "blockqnn" and arch.num_classes == 7
    assert arch.layers[0] == BConv(32, 3, 1) and arch.layers[4] == BAdd(1, 4)
    assert arch.layers[-1] == BHead(0, 7)  # zero hidden units is allowed


def test_offsets_must_be_positive_in_the_grammar():
    with pytest.raises(ArchitectureSyntaxError, match="positive integer"):
        parse("[BC(32,3,0), BHEAD(16,10)]")


def test_node_shapes_follow_the_graph():
    # 1: conv(input); 2: pool(1); 3: conv(1); 4: 3 + 1; 5: cat(3, 1)
    arch = parse("[BC(16,3,1), BAP(3,1), BC(16,1,2), BADD(1,3), BCAT(2,4), BHEAD(16,10)]")
    assert node_shapes(arch, (3, 7, 7)) == [
        (3, 7, 7), (16, 7, 7), (16, 3, 3), (16, 7, 7), (16, 7, 7), (32, 7, 7),
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"layer 3 BADD\(1,2\) adds shapes \(8, 7, 7\)"):
        node_shapes(parse("[BC(16,3,1), BC(8,1,1), BADD(1,2), BHEAD(4,10)]"), (3, 7, 7))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[BC(8,3,2), BHEAD(4,10)]", "offset 2"),
        ("[BC(8,3,1), BMP(2,1), BCAT(1,2), BHEAD(4,10)]", "concatenates spatial sizes"),
        ("[C(8,3,1), BHEAD(4,10)]", "not a BlockQNN layer"),
    ],
)
def test_invalid_graphs_name_the_layer(text, message):
    with pytest.raises(ValueError, match=message):
        node_shapes(parse(text), (1, 8, 8))


def test_leaves_are_the_nodes_nobody_reads():
    assert leaves(parse("[BHEAD(4,10)]")) == [0]
    assert leaves(parse("[BC(8,3,1), BC(8,3,1), BHEAD(4,10)]")) == [2]
    # 1 reads input, 2 reads input, 3 reads 1: leaves 2 and 3
    assert leaves(parse("[BC(8,3,1), BC(8,3,2), BMP(2,2), BHEAD(4,10)]")) == [2, 3]


def test_nsc_rows_use_absolute_predecessors():
    rows = nsc_rows(parse("[BC(8,3,1), BMP(2,1), BADD(1,2), BHEAD(4,10)]"))
    assert [tuple(r) for r in rows] == [
        (1, "conv", 3, 0, 0),
        (2, "max_pool", 2, 1, 0),
        (3, "add", 0, 2, 1),
        (4, "terminal", 0, 3, 0),
    ]
