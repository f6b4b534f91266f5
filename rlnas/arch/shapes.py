"""Shape arithmetic of the networks :func:`rlnas.nn.build` makes, without importing torch.

Every size the built module has is decided here, so :mod:`rlnas.evaluation.costs` can count
parameters and FLOPs of an architecture without building it, and the builder and the
counters cannot disagree. Shapes are per sample: ``(C, H, W)`` for feature maps,
``(units,)`` after a fully connected or terminal layer.

>>> from rlnas.arch import parse
>>> output_shapes(parse("[C(8,3,1), P(2,2), FC(16), SM(10)]"), (1, 28, 28))
[(8, 28, 28), (8, 14, 14), (16,), (10,)]
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Sequence

from rlnas.arch.chain import FC, GAP, Conv, Pool, Softmax
from rlnas.arch.grammar import Architecture, Layer

__all__ = [
    "Shape",
    "check_num_classes",
    "conv_padding",
    "layer_macs",
    "layer_output",
    "layer_params",
    "layer_shapes",
    "numel",
    "output_shapes",
    "pool_window",
]

#: A per-sample tensor shape: ``(C, H, W)`` or ``(features,)``.
Shape = tuple[int, ...]


def conv_padding(kernel: int) -> tuple[int, int]:
    """Zero padding ``(before, after)`` per spatial side giving SAME output ``ceil(R/stride)``.

    The total is ``kernel - 1`` for every stride and input side ``R``, since then the output
    side is ``floor((R + kernel - 1 - kernel) / stride) + 1 = ceil(R / stride)``. Odd kernels
    pad symmetrically; even kernels put the extra row/column after (bottom/right), as
    TensorFlow does.

    >>> conv_padding(1), conv_padding(2), conv_padding(3), conv_padding(4)
    ((0, 0), (0, 1), (1, 1), (1, 2))
    """
    if kernel < 1:
        raise ValueError(f"kernel must be positive, got {kernel}")
    return (kernel - 1) // 2, kernel // 2


def pool_window(layer: Pool, side: int) -> int:
    """The max-pool window to use on an input of side ``side`` so the output side is
    ``layer.output_size(side)`` under PyTorch's ``ceil_mode=True``.

    A window larger than the input is clamped to the input (one output covering all of
    it, as :meth:`Pool.output_size` says).

    >>> pool_window(Pool(3, 2), 28), pool_window(Pool(5, 3), 2)
    (3, 2)
    """
    if side < 1:
        raise ValueError(f"{layer} needs an input side of at least 1, got {side}")
    return min(layer.size, side)


def numel(shape: Shape) -> int:
    """Number of elements of a tensor of this per-sample shape.

    >>> numel((8, 14, 14)), numel((10,))
    (1568, 10)
    """
    return math.prod(shape)


def _check_input_shape(input_shape: Sequence[int]) -> Shape:
    try:  # operator.index accepts numpy and torch integers, rejects floats
        shape = tuple(operator.index(d) for d in input_shape if not isinstance(d, bool))
    except TypeError:
        shape = ()
    if len(shape) != 3 or len(input_shape) != 3:
        raise ValueError(f"input_shape must be three ints (C, H, W), got {input_shape!r}")
    if min(shape) < 1:
        raise ValueError(f"input_shape must be positive, got {input_shape!r}")
    return shape


def _layer_output(layer: Layer, position: int, shape: Shape) -> Shape:
    """Output shape of ``layer`` (1-based ``position`` in its architecture) on ``shape``."""
    if isinstance(layer, (Conv, Pool, GAP)) and len(shape) != 3:
        raise ValueError(
            f"layer {position} {layer} needs a spatial (C, H, W) input, but it follows a "
            f"fully connected layer (input shape {shape}); "
            + (
                "GAP(n) must follow a convolution or pooling layer, use SM(n) after FC"
                if isinstance(layer, GAP)
                else "convolutions and pooling must come before FC layers"
            )
        )
    if isinstance(layer, Conv):
        _, height, width = shape
        return (layer.filters, layer.output_size(height), layer.output_size(width))
    if isinstance(layer, Pool):
        channels, height, width = shape
        try:
            pool_window(layer, height)
            pool_window(layer, width)
        except ValueError as error:
            raise ValueError(f"layer {position}: {error}") from None
        return (channels, layer.output_size(height), layer.output_size(width))
    if isinstance(layer, FC):
        return (layer.units,)
    if isinstance(layer, (GAP, Softmax)):
        return (layer.classes,)
    raise TypeError(f"unknown layer type {type(layer).__name__}: {layer}")


def layer_output(layer: Layer, shape: Shape) -> Shape:
    """Per-sample output shape of ``layer`` on an input of ``shape`` (ValueError if invalid).

    >>> layer_output(Pool(2, 2), (8, 7, 7))
    (8, 4, 4)
    """
    return _layer_output(layer, 1, shape)


def layer_params(layer: Layer, in_shape: Shape, out_shape: Shape, batch_norm: bool) -> int:
    """Trainable parameters of the modules :func:`rlnas.nn.build` makes for ``layer``.

    Conv: weights and bias (with batch norm: no bias, BN scale and shift instead); FC and
    SM: weights and biases; GAP: its 1x1 convolution; pooling: none.

    >>> layer_params(Conv(8, 3, 1), (1, 8, 8), (8, 8, 8), batch_norm=False)
    80
    """
    if isinstance(layer, Conv):
        return in_shape[0] * layer.filters * layer.kernel**2 + (2 if batch_norm else 1) * (
            layer.filters
        )
    if isinstance(layer, (FC, Softmax)):
        return (numel(in_shape) + 1) * out_shape[0]
    if isinstance(layer, GAP):
        return (in_shape[0] + 1) * layer.classes
    return 0


def layer_macs(layer: Layer, in_shape: Shape, out_shape: Shape) -> int:
    """Multiply-accumulates of ``layer`` for one sample (see
    :func:`rlnas.evaluation.costs.count_flops` for what is counted).

    >>> layer_macs(Conv(8, 3, 1), (1, 28, 28), (8, 28, 28))
    56448
    """
    if isinstance(layer, Conv):
        return in_shape[0] * layer.kernel**2 * layer.filters * out_shape[1] * out_shape[2]
    if isinstance(layer, (FC, Softmax)):
        return numel(in_shape) * out_shape[0]
    if isinstance(layer, GAP):
        return in_shape[0] * layer.classes * in_shape[1] * in_shape[2]
    return 0


def layer_shapes(
    arch: Architecture, input_shape: Sequence[int]
) -> Iterator[tuple[Layer, Shape, Shape]]:
    """Yield ``(layer, input shape, output shape)`` for each layer of ``arch`` in order
    (hyper-parameter tokens are no layers: they are skipped).

    Raises :class:`ValueError` (when the offending layer is reached) for an invalid
    ``input_shape``, a Conv, Pool or GAP layer after an FC layer, or a pooling window that
    PyTorch would drop (see :func:`pool_window`).
    """
    shape = _check_input_shape(input_shape)
    for position, layer in enumerate(arch.network.layers, start=1):
        out = _layer_output(layer, position, shape)
        yield layer, shape, out
        shape = out


def output_shapes(arch: Architecture, input_shape: Sequence[int]) -> list[Shape]:
    """Per-sample output shape of every layer of ``arch`` (one entry per layer, the last is
    ``(classes,)``) on inputs of shape ``input_shape = (C, H, W)``.

    Spatial sides follow :meth:`rlnas.arch.Layer.output_size` (applied to height and width
    separately). Raises :class:`ValueError` like :func:`layer_shapes`.
    """
    return [out for _, _, out in layer_shapes(arch, input_shape)]


def check_num_classes(arch: Architecture, num_classes: int) -> None:
    """Raise :class:`ValueError` unless ``arch`` ends in ``num_classes`` class scores.

    >>> from rlnas.arch import parse
    >>> check_num_classes(parse("[C(8,3,1), GAP(10)]"), 100)
    Traceback (most recent call last):
    ...
    ValueError: [C(8,3,1), GAP(10)] ends in GAP(10) with 10 classes, but num_classes is 100
    """
    if arch.num_classes != num_classes:
        raise ValueError(
            f"{arch} ends in {arch.layers[-1]} with {arch.num_classes} classes, "
            f"but num_classes is {num_classes}"
        )
