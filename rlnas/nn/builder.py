"""Turn an :class:`~rlnas.arch.Architecture` into a PyTorch module that outputs logits.

Each layer of the architecture becomes one named :class:`Block` of the returned
:class:`Network` (``c1``, ``p2``, ``fc3``, ``sm4``, ...):

- ``C(n,f,l)``: [ZeroPad2d for even f] -> Conv2d(SAME) -> [BatchNorm2d] -> ReLU
- ``P(f,l)``: MaxPool2d(f, l, ceil_mode=True), window clamped to the input
- ``FC(n)``: [Flatten] -> Linear -> ReLU
- ``SM(n)``: [Flatten] -> Linear to n logits (the softmax belongs to the loss)
- ``GAP(n)``: 1x1 Conv2d to n channels -> global average pooling -> Flatten

followed by Dropout where :meth:`BuildOptions.dropout_rates` puts one. All sizes come from
:mod:`rlnas.arch.shapes`, so every block's output side equals
:meth:`rlnas.arch.Layer.output_size`.

>>> import torch
>>> from rlnas.arch import parse
>>> net = build(parse("[C(8,3,1), P(2,2), FC(16), SM(10)]"), (1, 28, 28), 10)
>>> net(torch.zeros(4, 1, 28, 28)).shape
torch.Size([4, 10])
>>> [name for name, _ in net.named_children()]
['c1', 'p2', 'fc3', 'sm4']
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from torch import Tensor, nn

from rlnas.arch import FC, GAP, Architecture, Conv, Layer, Pool, Softmax
from rlnas.arch.shapes import (
    Shape,
    check_num_classes,
    conv_padding,
    layer_shapes,
    numel,
    pool_window,
)
from rlnas.nn.options import BuildOptions

__all__ = ["BUILDERS", "Block", "BuildOptions", "Network", "build", "register_builder"]

#: A builder for one network family: ``(arch, input_shape, num_classes, options) -> module``.
Builder = Callable[[Architecture, Shape, int, BuildOptions], nn.Module]
#: Family name (:attr:`rlnas.arch.Layer.family`) -> builder, for the non-chain families.
BUILDERS: dict[str, Builder] = {}


def register_builder(family: str, builder: Builder) -> None:
    """Make :func:`build` use ``builder`` for architectures of ``family``."""
    BUILDERS[family] = builder


class Block(nn.Sequential):
    """The modules that implement one layer spec; ``spec`` is that layer."""

    def __init__(self, spec: Layer, modules: OrderedDict[str, nn.Module]) -> None:
        super().__init__(modules)
        self.spec = spec

    def extra_repr(self) -> str:
        return str(self.spec)


class Network(nn.Sequential):
    """A built architecture: ``(B, C, H, W)`` images in, ``(B, num_classes)`` logits out.

    The input's ``(C, H, W)`` must be ``input_shape`` whenever the network has an FC or SM
    layer (their sizes are fixed at build time).
    """

    def __init__(
        self,
        arch: Architecture,
        input_shape: Shape,
        options: BuildOptions,
        blocks: OrderedDict[str, nn.Module],
    ) -> None:
        super().__init__(blocks)
        self.arch = arch
        self.input_shape = input_shape
        self.num_classes = arch.num_classes
        self.options = options

    def forward(self, input: Tensor) -> Tensor:
        # (B, C, H, W) -> (B, num_classes) logits
        return super().forward(input)

    def extra_repr(self) -> str:
        return f"arch={self.arch}, input_shape={self.input_shape}"


def build(
    arch: Architecture,
    input_shape: Sequence[int],
    num_classes: int,
    options: BuildOptions | None = None,
) -> nn.Module:
    """Build ``arch`` for per-sample inputs ``input_shape = (C, H, W)``.

    Returns a freshly initialised module (PyTorch's default initialisation) in training
    mode, on the CPU, mapping ``(B, C, H, W)`` images to ``(B, num_classes)`` logits. A
    chain architecture (MetaQNN's layers) becomes a :class:`Network`; other families go to
    the builder registered for ``arch.family``. Raises :class:`ValueError` if
    ``num_classes`` is not the terminal layer's class count, if ``input_shape`` is not
    three positive ints, if a Conv, Pool or GAP layer follows an FC layer, or if a pooling
    window would fall outside its input (see :func:`rlnas.arch.shapes.pool_window`).
    """
    options = BuildOptions() if options is None else options
    arch = arch.network  # hyper-parameter tokens (LR, BS) set the training, build nothing
    if arch.family != "chain":
        builder = BUILDERS.get(arch.family)
        if builder is None:
            raise ValueError(f"no builder for the {arch.family!r} family of {arch}")
        check_num_classes(arch, num_classes)
        return builder(arch, tuple(input_shape), num_classes, options)
    check_num_classes(arch, num_classes)
    rates = options.dropout_rates(arch)
    shapes = list(layer_shapes(arch, input_shape))  # validates the whole architecture first
    blocks: OrderedDict[str, nn.Module] = OrderedDict()
    for index, (layer, in_shape, out_shape) in enumerate(shapes):
        modules = _modules(layer, in_shape, out_shape, bool(options.batch_norm))
        if index in rates:
            modules["dropout"] = nn.Dropout(rates[index])
        blocks[f"{layer.token.lower()}{index + 1}"] = Block(layer, modules)
    return Network(arch, shapes[0][1], options, blocks)


def _modules(
    layer: Layer, in_shape: Shape, out_shape: Shape, batch_norm: bool
) -> OrderedDict[str, nn.Module]:
    """The modules of one layer, mapping ``in_shape`` to ``out_shape`` (per sample)."""
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    if isinstance(layer, Conv):
        before, after = conv_padding(layer.kernel)
        if before != after:  # even kernel: pad (left, right, top, bottom), then VALID conv
            modules["pad"] = nn.ZeroPad2d((before, after, before, after))
        modules["conv"] = nn.Conv2d(
            in_shape[0],
            layer.filters,
            layer.kernel,
            layer.stride,
            padding=before if before == after else 0,
            bias=not batch_norm,
        )  # (B, C, H, W) -> (B, filters, ceil(H/stride), ceil(W/stride))
        if batch_norm:
            modules["bn"] = nn.BatchNorm2d(layer.filters)
        modules["relu"] = nn.ReLU(inplace=True)
    elif isinstance(layer, Pool):
        _, height, width = in_shape
        window = (pool_window(layer, height), pool_window(layer, width))
        modules["pool"] = nn.MaxPool2d(
            window[0] if window[0] == window[1] else window, layer.stride, ceil_mode=True
        )  # (B, C, H, W) -> (B, C, H', W') with H' = layer.output_size(H)
    elif isinstance(layer, (FC, Softmax)):
        if len(in_shape) == 3:
            modules["flatten"] = nn.Flatten()  # (B, C, H, W) -> (B, C*H*W)
        modules["linear"] = nn.Linear(numel(in_shape), out_shape[0])  # (B, in) -> (B, out)
        if isinstance(layer, FC):
            modules["relu"] = nn.ReLU(inplace=True)
    elif isinstance(layer, GAP):
        modules["conv"] = nn.Conv2d(in_shape[0], layer.classes, 1)  # -> (B, classes, H, W)
        modules["pool"] = nn.AdaptiveAvgPool2d(1)  # -> (B, classes, 1, 1)
        modules["flatten"] = nn.Flatten()  # -> (B, classes)
    else:  # output_shapes has already rejected unknown layer types
        raise TypeError(f"unknown layer type {type(layer).__name__}: {layer}")
    return modules
