"""Architecture drawings: chain layers with their shapes, other families through the built
network, and a plain list when nothing else works."""

import re
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from rlnas.arch import Layer, parse, register_layer
from rlnas.arch.shapes import output_shapes
from rlnas.nn.builder import register_builder
from rlnas.report.drawing import describe, draw_svg, format_shape


def test_chain_boxes_carry_the_builders_output_shapes():
    text = "[C(16,3,1), P(2,2), C(32,2,1), FC(64), SM(10)]"
    boxes = describe(text, (3, 13, 13))
    assert boxes[0].title == "input" and boxes[0].shape == "3×13×13"
    shapes = [format_shape(s) for s in output_shapes(parse(text), (3, 13, 13))]
    assert [b.shape for b in boxes[1:]] == shapes == ["16×13×13", "16×7×7", "32×7×7", "64", "10"]
    assert [b.kind for b in boxes[1:]] == ["conv", "pool", "conv", "dense", "head"]
    assert boxes[1].title == "conv 3×3, 16" and boxes[1].detail == "C(16,3,1)"


def test_without_an_input_shape_boxes_have_no_shapes():
    boxes = describe("[C(8,3,1), GAP(10)]", None)
    assert [b.shape for b in boxes] == ["", "", ""] and boxes[2].title == "1×1 conv+GAP → 10"


@dataclass(frozen=True)
class Branchy(Layer):
    """A test layer of a family with its own builder (two branches added)."""

    width: int
    token: ClassVar[str] = "ZDRAW"
    family: ClassVar[str] = "zdraw-test"


class TwoBranches(nn.Module):
    def __init__(self, width, classes):
        super().__init__()
        self.left = nn.Conv2d(1, width, 3, padding=1)
        self.right = nn.Conv2d(1, width, 1)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, classes))

    def forward(self, x):
        return self.head(torch.relu(self.left(x) + self.right(x)))


register_layer(Branchy)


def test_other_families_are_drawn_from_the_built_network_or_as_a_list():
    register_builder("zdraw-test", lambda arch, shape, n, opt: TwoBranches(arch.layers[0].width, n))
    boxes = describe("[ZDRAW(6), SM(10)]", (1, 8, 8))
    assert [(b.detail, b.shape) for b in boxes[1:]] == [
        ("left", "6×8×8"),
        ("right", "6×8×8"),
        ("head", "10"),
    ]
    register_builder("zdraw-test", lambda *args: (_ for _ in ()).throw(RuntimeError("broken")))
    boxes = describe("[ZDRAW(6), SM(10)]", (1, 8, 8))
    assert [b.title for b in boxes[1:]] == ["ZDRAW(6)", "SM(10)"]  # the generic list
    assert describe("[NOPE(1)]", (1, 8, 8))[1].detail == "(not parseable here)"


def test_drawing_has_one_box_and_arrow_per_layer_and_wraps():
    boxes = describe(
        "[C(8,3,1), C(8,3,1), C(8,3,1), C(8,3,1), C(8,3,1), C(8,3,1), SM(10)]", (1, 8, 8)
    )
    svg = draw_svg(boxes, label="x", uid="7")
    assert svg.count("<rect") == len(boxes) == 8
    assert svg.count('marker-end="url(#arrow-7)"') == len(boxes) - 1
    heights = {float(h) for h in re.findall(r'<rect x="[\d.]+" y="([\d.]+)"', svg)}
    assert len(heights) == 2  # eight boxes wrap onto a second row
