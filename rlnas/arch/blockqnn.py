"""BlockQNN's Network Structure Code (Zhong et al. 2018) as layer specs of the grammar.

A BlockQNN network is a list of layers; layer ``i`` (1-based, its position) reads the
output of earlier nodes: node 0 is the input image, node ``j`` the output of layer ``j``.
Predecessors are written as *offsets back* from the layer: ``pred = 1`` is the layer just
before, ``pred = i`` (at position ``i``) is the input image. The NSC tuple of a layer,
``(index, type, kernel, pred1, pred2)`` with absolute predecessor indices, is
:func:`nsc_rows`. Tokens (``family = "blockqnn"``):

- ``BC(f,k,p)``: ReLU -> ``f``-filter ``k``x``k`` convolution (SAME) -> batch norm
- ``BMP(k,p)`` / ``BAP(k,p)``: max / average pooling, window and stride ``k`` (SAME,
  ceil mode: the side becomes ``ceil(side / k)``)
- ``BID(p)``: identity (a skip that keeps a node alive for the head)
- ``BADD(p1,p2)``: element-wise sum of two nodes of equal shape
- ``BCAT(p1,p2)``: channel concatenation of two nodes of equal spatial size
- ``BHEAD(u,n)``, terminal: every *leaf* (a node no later layer reads; the input if there
  are no layers) is flattened, the leaves are concatenated, then dense ``u`` -> ReLU ->
  dropout -> dense ``n`` (``u = 0``: a single dense layer to ``n``).

>>> from rlnas.arch import parse
>>> arch = parse("[BC(32,3,1), BMP(2,1), BC(32,5,1), BCAT(1,2), BHEAD(1024,10)]")
>>> node_shapes(arch, (1, 8, 8))
[(1, 8, 8), (32, 8, 8), (32, 4, 4), (32, 4, 4), (64, 4, 4)]
>>> leaves(arch)
[4]
>>> nsc_rows(arch)[3]
NSC(layer_index=4, type='concat', kernel=0, pred1=3, pred2=2)

Pure data and arithmetic: no torch, nothing else of rlnas but :mod:`rlnas.arch`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from rlnas.arch.grammar import Architecture, Layer, register_layer

__all__ = [
    "NSC",
    "NSC_TYPES",
    "BAdd",
    "BAvgPool",
    "BConcat",
    "BConv",
    "BHead",
    "BIdentity",
    "BMaxPool",
    "BlockLayer",
    "layer_output",
    "leaves",
    "node_shapes",
    "nsc_rows",
    "pool_side",
    "sources",
]

FAMILY = "blockqnn"
#: NSC layer types; the position is the type id of the one-hot observation (0 = empty row).
NSC_TYPES = ("empty", "conv", "max_pool", "avg_pool", "identity", "add", "concat", "terminal")

#: A per-sample shape ``(C, H, W)``.
Shape = tuple[int, int, int]


@dataclass(frozen=True)
class BlockLayer(Layer):
    """Base of the BlockQNN layers; ``preds`` are the offsets back to the inputs read."""

    family: ClassVar[str] = FAMILY
    nsc_type: ClassVar[str] = ""

    @property
    def preds(self) -> tuple[int, ...]:
        return ()

    @property
    def kernel_size(self) -> int:
        """The kernel or window size, 0 for layers without one."""
        return 0


@register_layer
@dataclass(frozen=True)
class BConv(BlockLayer):
    """``BC(f,k,p)``: ReLU -> conv (``f`` filters, ``k``x``k``, SAME) -> batch norm."""

    filters: int
    kernel: int
    pred: int = 1
    token: ClassVar[str] = "BC"
    nsc_type: ClassVar[str] = "conv"

    @property
    def preds(self) -> tuple[int, ...]:
        return (self.pred,)

    @property
    def kernel_size(self) -> int:
        return self.kernel


@register_layer
@dataclass(frozen=True)
class BMaxPool(BlockLayer):
    """``BMP(k,p)``: max pooling, window and stride ``k``; the side becomes ceil(side / k)."""

    kernel: int
    pred: int = 1
    token: ClassVar[str] = "BMP"
    nsc_type: ClassVar[str] = "max_pool"

    @property
    def preds(self) -> tuple[int, ...]:
        return (self.pred,)

    @property
    def kernel_size(self) -> int:
        return self.kernel


@register_layer
@dataclass(frozen=True)
class BAvgPool(BlockLayer):
    """``BAP(k,p)``: average pooling, window and stride ``k``, like ``BMP``."""

    kernel: int
    pred: int = 1
    token: ClassVar[str] = "BAP"
    nsc_type: ClassVar[str] = "avg_pool"

    @property
    def preds(self) -> tuple[int, ...]:
        return (self.pred,)

    @property
    def kernel_size(self) -> int:
        return self.kernel


@register_layer
@dataclass(frozen=True)
class BIdentity(BlockLayer):
    """``BID(p)``: the node ``p`` back, unchanged."""

    pred: int
    token: ClassVar[str] = "BID"
    nsc_type: ClassVar[str] = "identity"

    @property
    def preds(self) -> tuple[int, ...]:
        return (self.pred,)


@register_layer
@dataclass(frozen=True)
class BAdd(BlockLayer):
    """``BADD(p1,p2)``: element-wise sum of two nodes of the same shape."""

    pred1: int
    pred2: int
    token: ClassVar[str] = "BADD"
    nsc_type: ClassVar[str] = "add"

    @property
    def preds(self) -> tuple[int, ...]:
        return (self.pred1, self.pred2)


@register_layer
@dataclass(frozen=True)
class BConcat(BlockLayer):
    """``BCAT(p1,p2)``: channel concatenation of two nodes of the same spatial size."""

    pred1: int
    pred2: int
    token: ClassVar[str] = "BCAT"
    nsc_type: ClassVar[str] = "concat"

    @property
    def preds(self) -> tuple[int, ...]:
        return (self.pred1, self.pred2)


@register_layer
@dataclass(frozen=True)
class BHead(BlockLayer):
    """Terminal ``BHEAD(u,n)``: flatten and concatenate the leaves, dense ``u`` -> ReLU ->
    dropout -> dense ``n`` class scores (``u = 0``: one dense layer)."""

    units: int
    classes: int
    token: ClassVar[str] = "BHEAD"
    terminal: ClassVar[bool] = True
    nsc_type: ClassVar[str] = "terminal"
    zero_ok: ClassVar[frozenset[str]] = frozenset({"units"})


class NSC(NamedTuple):
    """One row of the Network Structure Code, predecessors as absolute node indices."""

    layer_index: int
    type: str
    kernel: int
    pred1: int
    pred2: int


def pool_side(side: int, kernel: int) -> int:
    """Side after pooling with window and stride ``kernel`` (SAME, ceil mode).

    >>> pool_side(8, 2), pool_side(7, 2), pool_side(8, 3), pool_side(1, 3)
    (4, 4, 3, 1)
    """
    return math.ceil(side / kernel)


def _block_layers(arch: Architecture) -> tuple[BlockLayer, ...]:
    layers = arch.layers
    for position, layer in enumerate(layers, start=1):
        if not isinstance(layer, BlockLayer):
            raise ValueError(f"layer {position} {layer} of {arch} is not a BlockQNN layer")
    return layers  # type: ignore[return-value]


def sources(position: int, layer: BlockLayer) -> tuple[int, ...]:
    """Absolute node indices that the layer at 1-based ``position`` reads."""
    return tuple(position - offset for offset in layer.preds)


def node_shapes(arch: Architecture, input_shape: Sequence[int]) -> list[Shape]:
    """Per-sample shape of node 0 (the input) and of every non-terminal layer's output.

    Raises :class:`ValueError` naming the layer when a predecessor points before the input
    or past the layer, when ``BADD`` joins different shapes, or when ``BCAT`` joins
    different spatial sizes.
    """
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be three positive ints (C, H, W), got {input_shape}")
    shapes: list[Shape] = [(int(input_shape[0]), int(input_shape[1]), int(input_shape[2]))]
    layers = _block_layers(arch)
    for position, layer in enumerate(layers[:-1], start=1):
        ins = []
        for offset, source in zip(layer.preds, sources(position, layer), strict=True):
            if not 1 <= offset <= position:
                raise ValueError(
                    f"layer {position} {layer}: predecessor offset {offset} must be between 1 "
                    f"(the previous layer) and {position} (the input)"
                )
            ins.append(shapes[source])
        shapes.append(layer_output(position, layer, ins))
    return shapes


def layer_output(position: int, layer: BlockLayer, ins: Sequence[Shape]) -> Shape:
    """Output shape of the non-terminal ``layer`` at ``position`` reading shapes ``ins``;
    :class:`ValueError` when they cannot be joined."""
    if isinstance(layer, BConv):
        return (layer.filters, ins[0][1], ins[0][2])
    if isinstance(layer, (BMaxPool, BAvgPool)):
        c, h, w = ins[0]
        return (c, pool_side(h, layer.kernel), pool_side(w, layer.kernel))
    if isinstance(layer, BIdentity):
        return ins[0]
    if isinstance(layer, BAdd):
        if ins[0] != ins[1]:
            raise ValueError(f"layer {position} {layer} adds shapes {ins[0]} and {ins[1]}")
        return ins[0]
    if isinstance(layer, BConcat):
        if ins[0][1:] != ins[1][1:]:
            raise ValueError(
                f"layer {position} {layer} concatenates spatial sizes {ins[0][1:]} and {ins[1][1:]}"
            )
        return (ins[0][0] + ins[1][0], ins[0][1], ins[0][2])
    raise ValueError(f"layer {position} {layer} cannot appear before the terminal layer")


def leaves(arch: Architecture) -> list[int]:
    """Nodes that no later layer reads, ascending; ``[0]`` when there are no layers.

    These are what the head concatenates (BlockQNN concatenates a block's loose ends).
    """
    layers = _block_layers(arch)[:-1]
    read = {s for position, layer in enumerate(layers, start=1) for s in sources(position, layer)}
    found = [node for node in range(1, len(layers) + 1) if node not in read]
    return found or [0]


def nsc_rows(arch: Architecture) -> list[NSC]:
    """The NSC matrix of ``arch``: ``(index, type, kernel, pred1, pred2)`` per layer, with
    absolute predecessors (0 = the input; 0 also where a layer has no such input)."""
    rows = []
    for position, layer in enumerate(_block_layers(arch), start=1):
        preds = (*sources(position, layer), 0, 0)
        if isinstance(layer, BHead):
            preds = (position - 1, 0)  # the terminal row follows the last layer
        rows.append(NSC(position, layer.nsc_type, layer.kernel_size, preds[0], preds[1]))
    return rows
