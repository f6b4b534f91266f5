"""Layer specs of ENAS macro networks (Pham et al. 2018): pure data, part of the grammar.

A macro network is a stem, ``L`` nodes in stages of fixed width, a reduction between
stages, and a head. Every node applies one operation to the output of the node before it
and adds the outputs of any earlier nodes it names (skip connections)::

    >>> from rlnas.arch import parse
    >>> arch = parse("[STEM(16), CONV(3,0), SEP(5,0), MAXP(3,1), RED(32), CONV(5,3), HEAD(10)]")
    >>> [str(node) for node in plan(arch).nodes]
    ['CONV(3,0)', 'SEP(5,0)', 'MAXP(3,1)', 'CONV(5,3)']
    >>> plan(arch).nodes[3].sources  # CONV(5,3): bits 0 and 1, nodes 1 and 2 (1-based)
    (0, 1)

- ``STEM(n)``: a 3x3 convolution from the image to n channels (then batch norm if built so);
- ``CONV(k,s)``, ``SEP(k,s)``: ReLU, k x k (depthwise-separable) convolution, batch norm;
- ``MAXP(k,s)``, ``AVGP(k,s)``: k x k max / average pooling, stride 1;
- ``RED(n)``: halve the feature map (ceil) and change the width to n, between stages;
- ``HEAD(n)``: ReLU, global average pooling, a linear layer to n class scores.

``s`` is a bit mask of skip connections: bit ``j - 1`` set means node ``j`` (1-based)
also feeds the node. A node always reads the node before it (through ``RED`` at a stage
boundary), so its own predecessor is never in the mask. A skip from an earlier stage is
brought to the node's size and width by a 1x1 convolution and average pooling per
reduction it crosses. Importing :mod:`rlnas` registers these tokens with the parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlnas.arch.chain import Softmax
from rlnas.arch.grammar import Architecture, Layer, register_layer

__all__ = [
    "OPS",
    "AvgPoolNode",
    "ConvNode",
    "EnasPlan",
    "Head",
    "MaxPoolNode",
    "Node",
    "Reduce",
    "SepConvNode",
    "Stem",
    "make_node",
    "plan",
]

FAMILY = "enas"


@register_layer
@dataclass(frozen=True)
class Stem(Layer):
    """``STEM(n)``: 3x3 convolution from the input image to n channels (SAME padding)."""

    filters: int
    token: ClassVar[str] = "STEM"
    family: ClassVar[str] = FAMILY


@register_layer
@dataclass(frozen=True)
class Reduce(Layer):
    """``RED(n)``: ReLU, 1x1 convolution to n channels, 2x2 average pooling (ceil mode)."""

    filters: int
    token: ClassVar[str] = "RED"
    family: ClassVar[str] = FAMILY

    def output_size(self, size: int) -> int:
        return -(-size // 2)


@dataclass(frozen=True)
class Node(Layer):
    """One node: an operation with a ``kernel`` and the bit mask ``skips`` of earlier nodes."""

    kernel: int
    skips: int
    family: ClassVar[str] = FAMILY
    zero_ok: ClassVar[frozenset[str]] = frozenset({"skips"})
    #: The operation's name without the kernel, e.g. ``"conv"``; ``op`` adds the kernel.
    kind: ClassVar[str] = ""

    @property
    def op(self) -> str:
        """The operation's name, e.g. ``"sep5"``: the key of its module in every network."""
        return f"{self.kind}{self.kernel}"

    @property
    def sources(self) -> tuple[int, ...]:
        """0-based indices of the nodes whose outputs are added (the set bits of ``skips``)."""
        return tuple(j for j in range(self.skips.bit_length()) if self.skips >> j & 1)


@register_layer
@dataclass(frozen=True)
class ConvNode(Node):
    """``CONV(k,s)``: ReLU, k x k convolution (SAME), batch norm."""

    token: ClassVar[str] = "CONV"
    kind: ClassVar[str] = "conv"


@register_layer
@dataclass(frozen=True)
class SepConvNode(Node):
    """``SEP(k,s)``: ReLU, k x k depthwise then 1x1 pointwise convolution, batch norm."""

    token: ClassVar[str] = "SEP"
    kind: ClassVar[str] = "sep"


@register_layer
@dataclass(frozen=True)
class MaxPoolNode(Node):
    """``MAXP(k,s)``: k x k max pooling, stride 1, SAME padding."""

    token: ClassVar[str] = "MAXP"
    kind: ClassVar[str] = "max"


@register_layer
@dataclass(frozen=True)
class AvgPoolNode(Node):
    """``AVGP(k,s)``: k x k average pooling, stride 1, SAME padding (padding not counted)."""

    token: ClassVar[str] = "AVGP"
    kind: ClassVar[str] = "avg"


@register_layer
@dataclass(frozen=True)
class Head(Softmax):
    """Terminal ``HEAD(n)``: ReLU, global average pooling, dropout, linear to n scores."""

    token: ClassVar[str] = "HEAD"
    family: ClassVar[str] = FAMILY


_KINDS: dict[str, type[Node]] = {
    cls.kind: cls for cls in (ConvNode, SepConvNode, MaxPoolNode, AvgPoolNode)
}
#: ENAS's six operations, by name: the default choices of the ``enas-macro`` space.
OPS: tuple[str, ...] = ("conv3", "conv5", "sep3", "sep5", "max3", "avg3")


def make_node(op: str, skips: int = 0) -> Node:
    """The node for an operation name like ``"sep5"``; ``ValueError`` for an unknown one.

    >>> make_node("sep5", 3)
    SepConvNode(kernel=5, skips=3)
    """
    kind = op.rstrip("0123456789")
    digits = op[len(kind) :]
    if kind not in _KINDS or not digits or int(digits) % 2 == 0:
        raise ValueError(
            f"unknown operation {op!r}: use conv, sep, max or avg followed by an odd "
            f"kernel size, e.g. {', '.join(OPS)}"
        )
    return _KINDS[kind](int(digits), skips)


@dataclass(frozen=True)
class EnasPlan:
    """A validated macro architecture, as the builders need it.

    ``stages[i]`` is the stage of node ``i``; ``widths[s]`` the width of stage ``s``
    (``STEM``'s for stage 0, then each ``RED``'s).
    """

    nodes: tuple[Node, ...]
    stages: tuple[int, ...]
    widths: tuple[int, ...]
    classes: int

    @property
    def num_stages(self) -> int:
        return len(self.widths)

    def first_of_stage(self, stage: int) -> int:
        """Index of the first node of ``stage``."""
        return self.stages.index(stage)

    def needed_after(self, stage: int) -> tuple[int, ...]:
        """Nodes before ``stage`` whose outputs a node of ``stage`` or later reads as a skip."""
        start = self.first_of_stage(stage)
        wanted = {j for node in self.nodes[start:] for j in node.sources}
        return tuple(sorted(j for j in wanted if j < start))


def plan(arch: Architecture) -> EnasPlan:
    """Check that ``arch`` is a macro network and return its :class:`EnasPlan`.

    Raises :class:`ValueError` naming the problem: not ``STEM`` first and ``HEAD`` last, a
    layer of another family, a ``RED`` that is not between two nodes, an even kernel, or a
    skip bit that does not name a node at least two before.

    >>> from rlnas.arch import parse
    >>> plan(parse("[STEM(8), CONV(3,0), SEP(3,0), MAXP(3,2), HEAD(10)]"))
    Traceback (most recent call last):
    ...
    ValueError: node 3 MAXP(3,2) reads node 2 as a skip, but node 2 is its input; ...
    """
    layers = arch.layers
    if not isinstance(layers[0], Stem) or not isinstance(layers[-1], Head):
        raise ValueError(f"{arch}: a macro network starts with STEM(n) and ends with HEAD(n)")
    widths = [layers[0].filters]
    nodes: list[Node] = []
    stages: list[int] = []
    for position, layer in enumerate(layers[1:-1], start=2):  # 1-based positions
        if isinstance(layer, Reduce):
            before, after = layers[position - 2], layers[position]
            if not isinstance(before, Node) or not isinstance(after, Node):
                raise ValueError(f"{arch}: layer {position} {layer} must sit between two nodes")
            widths.append(layer.filters)
        elif isinstance(layer, Node):
            if layer.kernel % 2 == 0:
                raise ValueError(f"{arch}: layer {position} {layer} needs an odd kernel")
            index = len(nodes)  # 0-based; nodes 0 .. index - 2 may be skips
            if layer.skips >> max(index - 1, 0):
                last = layer.skips.bit_length()
                why = {index: "its input", index + 1: "the node itself"}.get(last, "after it")
                allowed = f"nodes 1..{index - 1}" if index >= 2 else "no node"
                raise ValueError(
                    f"node {index + 1} {layer} reads node {last} as a skip, but node {last} "
                    f"is {why}; its skips may name {allowed} (bit j-1 for node j)"
                )
            nodes.append(layer)
            stages.append(len(widths) - 1)
        else:
            raise ValueError(f"{arch}: layer {position} {layer} is not a macro-network layer")
    if not nodes:
        raise ValueError(f"{arch}: a macro network needs at least one node")
    head = layers[-1]
    assert isinstance(head, Head)  # checked above
    return EnasPlan(tuple(nodes), tuple(stages), tuple(widths), head.classes)
