"""The builder of BlockQNN networks (``family = "blockqnn"``, tokens in :mod:`rlnas.arch.blockqnn`).

Node 0 is the input; each layer reads the nodes its offsets point to and adds one node:

- ``BC(f,k,p)``: ReLU -> Conv2d(f, k, SAME, no bias) -> BatchNorm2d (BlockQNN's
  pre-activation convolution cell; the ReLU is not in place, other layers may read its input)
- ``BMP(k,p)`` / ``BAP(k,p)``: MaxPool2d / AvgPool2d with window ``k`` (clamped to the
  input) and stride ``k`` in ceil mode: side ``ceil(side / k)``; an average over a window
  cut by the border divides by the pixels inside it
- ``BID``, ``BADD``, ``BCAT``: identity, sum, channel concatenation
- ``BHEAD(u,n)``: flatten every leaf, concatenate, Linear(u) -> ReLU ->
  Dropout(``BuildOptions.head_dropout``) -> Linear(n); ``u = 0``: Linear(n) only

``BuildOptions.dropout`` and ``batch_norm`` (MetaQNN's chain settings) do not apply.

>>> import torch
>>> from rlnas.arch import parse
>>> from rlnas.nn import build
>>> net = build(parse("[BC(8,3,1), BMP(2,1), BC(8,3,1), BCAT(1,2), BHEAD(16,10)]"), (1, 8, 8), 10)
>>> net(torch.zeros(2, 1, 8, 8)).shape
torch.Size([2, 10])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from rlnas.arch import Architecture
from rlnas.arch.blockqnn import (
    FAMILY,
    BAdd,
    BAvgPool,
    BConcat,
    BConv,
    BHead,
    BIdentity,
    BlockLayer,
    BMaxPool,
    Shape,
    leaves,
    node_shapes,
    sources,
)
from rlnas.arch.shapes import conv_padding, numel
from rlnas.nn.builder import register_builder
from rlnas.nn.options import BuildOptions

__all__ = ["BlockQNNNetwork", "build_blockqnn"]


class _Add(nn.Module):
    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return a + b


class _Concat(nn.Module):
    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.cat([a, b], dim=1)  # (B, Ca + Cb, H, W)


class BlockQNNNetwork(nn.Module):
    """A built BlockQNN architecture: ``(B, C, H, W)`` images of ``input_shape`` in,
    ``(B, num_classes)`` logits out. ``nodes[i]`` is the module of layer ``i + 1``."""

    def __init__(self, arch: Architecture, input_shape: Shape, options: BuildOptions) -> None:
        super().__init__()
        self.arch = arch
        self.input_shape = input_shape
        self.num_classes = arch.num_classes
        shapes = node_shapes(arch, input_shape)  # validates the whole graph first
        layers: Sequence[BlockLayer] = arch.layers  # type: ignore[assignment]
        self.nodes = nn.ModuleList()
        self.sources: list[tuple[int, ...]] = []
        for position, layer in enumerate(layers[:-1], start=1):
            reads = sources(position, layer)
            self.nodes.append(_module(layer, shapes[reads[0]]))
            self.sources.append(reads)
        self.leaves = leaves(arch)
        head = layers[-1]
        assert isinstance(head, BHead)  # Architecture guarantees a terminal last
        features = sum(numel(shapes[leaf]) for leaf in self.leaves)
        modules: list[nn.Module] = []
        if head.units:
            modules += [nn.Linear(features, head.units), nn.ReLU(inplace=True)]
            modules += [nn.Dropout(options.head_dropout), nn.Linear(head.units, head.classes)]
        else:
            modules.append(nn.Linear(features, head.classes))
        self.head = nn.Sequential(*modules)

    def forward(self, input: Tensor) -> Tensor:
        nodes = [input]  # node i: (B, C_i, H_i, W_i)
        for module, reads in zip(self.nodes, self.sources, strict=True):
            nodes.append(module(*(nodes[s] for s in reads)))
        flat = torch.cat([nodes[leaf].flatten(1) for leaf in self.leaves], dim=1)  # (B, F)
        return self.head(flat)  # (B, num_classes)

    def extra_repr(self) -> str:
        return f"arch={self.arch}, input_shape={self.input_shape}"


def _module(layer: BlockLayer, in_shape: Shape) -> nn.Module:
    """The module of one non-terminal layer whose (first) input has ``in_shape``."""
    if isinstance(layer, BConv):
        before, after = conv_padding(layer.kernel)
        modules: list[nn.Module] = [nn.ReLU()]
        if before != after:  # even kernel: pad (left, right, top, bottom), then VALID conv
            modules.append(nn.ZeroPad2d((before, after, before, after)))
        padding = before if before == after else 0
        conv = nn.Conv2d(in_shape[0], layer.filters, layer.kernel, padding=padding, bias=False)
        modules += [conv, nn.BatchNorm2d(layer.filters)]
        return nn.Sequential(*modules)
    if isinstance(layer, (BMaxPool, BAvgPool)):
        window = (min(layer.kernel, in_shape[1]), min(layer.kernel, in_shape[2]))
        if isinstance(layer, BMaxPool):
            return nn.MaxPool2d(window, layer.kernel, ceil_mode=True)
        return nn.AvgPool2d(window, layer.kernel, ceil_mode=True)
    if isinstance(layer, BIdentity):
        return nn.Identity()
    if isinstance(layer, BAdd):
        return _Add()
    if isinstance(layer, BConcat):
        return _Concat()
    raise TypeError(f"unknown BlockQNN layer {layer}")  # node_shapes rejected it already


def build_blockqnn(
    arch: Architecture, input_shape: tuple[int, ...], num_classes: int, options: BuildOptions
) -> nn.Module:
    """Build a BlockQNN architecture (registered with :func:`rlnas.nn.build`)."""
    del num_classes  # checked by build() against the head
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {input_shape}")
    return BlockQNNNetwork(arch, (input_shape[0], input_shape[1], input_shape[2]), options)


register_builder(FAMILY, build_blockqnn)
