"""MetaQNN's notation (Baker et al. 2017): layer after layer, as the paper prints them.

    >>> from rlnas.arch import parse
    >>> arch = parse("[C(32,3,1), P(2,2), C(64,3,1), FC(128), SM(10)]")
    >>> arch.layers[0]
    Conv(filters=32, kernel=3, stride=1)
    >>> str(arch)
    '[C(32,3,1), P(2,2), C(64,3,1), FC(128), SM(10)]'
    >>> parse(str(arch)) == arch
    True

``Layer.output_size`` is the one place the spatial sizes of these layers are defined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlnas.arch.grammar import Layer, register_layer

__all__ = ["FC", "GAP", "BatchSize", "Conv", "LearningRate", "Pool", "Softmax"]


@register_layer
@dataclass(frozen=True)
class Conv(Layer):
    """Convolution ``C(n,f,l)``: n filters, receptive field f, stride l; SAME padding, ReLU."""

    filters: int
    kernel: int
    stride: int = 1
    token: ClassVar[str] = "C"

    def output_size(self, size: int) -> int:
        return -(-size // self.stride)  # SAME padding: ceil(size / stride)


@register_layer
@dataclass(frozen=True)
class Pool(Layer):
    """Max pooling ``P(f,l)``: window f, stride l (VALID, ceil mode, as MetaQNN)."""

    size: int
    stride: int
    token: ClassVar[str] = "P"

    def output_size(self, size: int) -> int:
        out = -(-max(size - self.size, 0) // self.stride) + 1  # ceil((R - f) / l) + 1
        if (out - 1) * self.stride >= size:  # a last window starting past the input is dropped
            out -= 1
        return out


@register_layer
@dataclass(frozen=True)
class FC(Layer):
    """Fully connected ``FC(n)`` with n units and ReLU; flattens a spatial input."""

    units: int
    token: ClassVar[str] = "FC"

    def output_size(self, size: int) -> int:
        return 1


@register_layer
@dataclass(frozen=True)
class GAP(Layer):
    """Terminal ``GAP(n)``: a 1x1 convolution to n classes, then global average pooling."""

    classes: int
    token: ClassVar[str] = "GAP"
    terminal: ClassVar[bool] = True


@register_layer
@dataclass(frozen=True)
class Softmax(Layer):
    """Terminal ``SM(n)``: a linear layer to n class scores (softmax is in the loss)."""

    classes: int
    token: ClassVar[str] = "SM"
    terminal: ClassVar[bool] = True


@register_layer
@dataclass(frozen=True)
class LearningRate(Layer):
    """``LR(n)``: train this network at learning rate ``n`` x 1e-6 (a searched
    hyper-parameter, not a layer: ``LR(3000)`` is 3e-3).

    >>> from rlnas.arch import parse
    >>> arch = parse("[LR(3000), BS(64), C(8,3,1), SM(10)]")
    >>> arch.settings, str(arch.network)
    ({'learning_rate': 0.003, 'batch_size': 64}, '[C(8,3,1), SM(10)]')
    """

    micro: int
    token: ClassVar[str] = "LR"
    hyper: ClassVar[bool] = True
    setting: ClassVar[str] = "learning_rate"

    @property
    def value(self) -> float:
        return self.micro * 1e-6


@register_layer
@dataclass(frozen=True)
class BatchSize(Layer):
    """``BS(n)``: train this network on mini-batches of ``n`` (a searched hyper-parameter)."""

    size: int
    token: ClassVar[str] = "BS"
    hyper: ClassVar[bool] = True
    setting: ClassVar[str] = "batch_size"

    @property
    def value(self) -> float:
        return self.size
