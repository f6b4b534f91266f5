"""MetaQNN's layer-by-layer MDP (Baker et al. 2017, "Designing Neural Network
Architectures using Reinforcement Learning"), with all of the paper's shape rules.

State = (layer type, depth, filters or units, kernel, stride, representation size,
consecutive-FC count). Rules:

* conv: filters x kernels, stride 1; the kernel must be smaller than the current image;
* pooling: (size, stride) pairs, only right after a convolution (never first, never twice
  in a row), and the window must be smaller than the current image;
* FC: only when the binned representation size is <= ``fc_max_size`` (bins: >7 -> 8,
  4..7 -> 4, <=3 -> 1), at most ``max_fc`` in a row, each no wider than the one before;
  after an FC only another FC or the softmax may follow;
* termination: softmax from any state, global average pooling from any spatial state;
  at ``max_depth`` non-terminal layers only termination is offered.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from rlnas.arch import FC, GAP, Architecture, Conv, Layer, Pool, Softmax
from rlnas.spaces.base import SearchSpace

__all__ = ["PRESETS", "MetaQNNConfig", "MetaQNNSpace", "MetaQNNState"]

LAYER_TYPES = ("start", "conv", "pool", "fc", "gap", "softmax")


@dataclass(frozen=True)
class MetaQNNConfig:
    """The knobs of the MetaQNN space; every one can be set from a TOML ``[space]`` table."""

    #: Convolution filter counts.
    filters: tuple[int, ...] = (8, 16, 32, 64)
    #: Convolution receptive fields.
    kernels: tuple[int, ...] = (1, 3, 5)
    #: Convolution strides (the paper uses 1 only).
    conv_strides: tuple[int, ...] = (1,)
    #: Pooling (size, stride) pairs.
    pools: tuple[tuple[int, int], ...] = ((5, 3), (3, 2), (2, 2))
    #: Fully connected widths.
    fc_units: tuple[int, ...] = (128, 64, 32)
    #: At most this many consecutive FC layers.
    max_fc: int = 2
    #: At most this many non-terminal layers.
    max_depth: int = 8
    #: FC layers are offered only when the binned representation size is <= this.
    fc_max_size: int = 4
    #: Representation-size bins as (lowest size, bin value), largest first.
    size_bins: tuple[tuple[int, int], ...] = ((8, 8), (4, 4), (0, 1))
    #: Terminal layers offered: "gap" and/or "softmax".
    terminals: tuple[str, ...] = ("gap", "softmax")

    def __post_init__(self) -> None:
        positive = ("filters", "kernels", "conv_strides", "fc_units")
        for name in positive:
            values = getattr(self, name)
            if not values or any(not isinstance(v, int) or v <= 0 for v in values):
                raise ValueError(f"space.{name} must be a non-empty list of positive integers")
        if any(len(p) != 2 or min(p) <= 0 for p in self.pools):
            raise ValueError(
                "space.pools must be a list of [size, stride] pairs of positive integers"
            )
        for name in ("max_fc", "max_depth", "fc_max_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ValueError(f"space.{name} must be a non-negative integer")
        if not self.terminals or set(self.terminals) - {"gap", "softmax"}:
            raise ValueError('space.terminals must be a non-empty subset of ["gap", "softmax"]')
        lows = [low for low, _ in self.size_bins]
        if not lows or lows != sorted(lows, reverse=True) or lows[-1] > 1:
            raise ValueError(
                "space.size_bins must be [lowest size, value] pairs, largest first, "
                "the last from 1 or 0"
            )

    @classmethod
    def from_dict(cls, base: MetaQNNConfig, values: dict[str, Any]) -> MetaQNNConfig:
        """``base`` with ``values`` (e.g. a TOML table) applied; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown space setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        converted: dict[str, Any] = {}
        for key, value in values.items():
            if isinstance(value, list):
                value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
            converted[key] = value
        try:
            return replace(base, **converted)
        except TypeError as error:
            raise ValueError(f"invalid space setting: {error}") from None

    def size_bin(self, size: int) -> int:
        for low, value in self.size_bins:
            if size >= low:
                return value
        return self.size_bins[-1][1]


PRESETS: dict[str, MetaQNNConfig] = {
    # The default for small data: the paper's rules with narrower layers.
    "metaqnn": MetaQNNConfig(),
    # The paper's values (CIFAR-10/SVHN/MNIST experiments).
    "metaqnn-paper": MetaQNNConfig(
        filters=(64, 128, 256, 512), fc_units=(512, 256, 128), max_depth=12
    ),
    # Small enough to train every member: the space of the tabular benchmark (1,662
    # architectures on 8x8 digits).
    "metaqnn-tiny": MetaQNNConfig(filters=(8, 32), kernels=(3, 5), fc_units=(64, 32), max_depth=4),
}


@dataclass(frozen=True)
class MetaQNNState:
    """A node of the MDP. ``layers`` is the path so far (the key used by Q-learning drops it)."""

    layer_type: str = "start"
    depth: int = 0
    filters: int = 0  # conv filters or FC units; 0 otherwise
    kernel: int = 0
    stride: int = 0
    size: int = 0  # actual side of the representation (the Q-key uses its bin)
    fc_count: int = 0
    layers: tuple[Layer, ...] = field(default=(), repr=False)


class MetaQNNSpace(SearchSpace[MetaQNNState]):
    """MetaQNN's MDP for images of side ``image_size`` and ``num_classes`` classes.

    >>> space = MetaQNNSpace(image_size=8, num_classes=10)
    >>> s = space.initial_state()
    >>> [str(space.vocabulary[a]) for a in space.actions(s)][:3]
    ['C(8,1,1)', 'C(8,3,1)', 'C(8,5,1)']
    >>> s = space.step(s, space.vocabulary.index(Conv(8, 3, 1)))
    >>> s = space.step(s, space.vocabulary.index(Softmax(10)))
    >>> str(space.architecture(s))
    '[C(8,3,1), SM(10)]'
    """

    vocabulary: tuple[Layer, ...]

    def __init__(
        self,
        config: MetaQNNConfig | None = None,
        *,
        image_size: int,
        num_classes: int,
        name: str = "metaqnn",
    ) -> None:
        if image_size <= 0 or num_classes <= 1:
            raise ValueError("image_size must be positive and num_classes at least 2")
        self.cfg = config or PRESETS["metaqnn"]
        self.name = name
        self.image_size = image_size
        self.num_classes = num_classes
        cfg = self.cfg
        vocab: list[Layer] = [
            Conv(f, k, s) for f in cfg.filters for k in cfg.kernels for s in cfg.conv_strides
        ]
        vocab += [Pool(size, stride) for size, stride in cfg.pools]
        vocab += [FC(u) for u in cfg.fc_units]
        if "gap" in cfg.terminals:
            vocab.append(GAP(num_classes))
        if "softmax" in cfg.terminals:
            vocab.append(Softmax(num_classes))
        self.vocabulary = tuple(dict.fromkeys(vocab))  # dedupe, keep order
        self._index = {layer: i for i, layer in enumerate(self.vocabulary)}

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "image_size": self.image_size,
            "num_classes": self.num_classes,
            **asdict(self.cfg),
        }

    @property
    def horizon(self) -> int:
        return self.cfg.max_depth + 1

    def initial_state(self) -> MetaQNNState:
        return MetaQNNState(size=self.image_size)

    def is_terminal(self, state: MetaQNNState) -> bool:
        return state.layer_type in ("gap", "softmax")

    def architecture(self, state: MetaQNNState) -> Architecture:
        if not self.is_terminal(state):
            raise ValueError("only a terminal state describes an architecture")
        return Architecture(state.layers)

    def key(self, state: MetaQNNState) -> Hashable:
        return (
            state.layer_type,
            state.depth,
            state.filters,
            state.kernel,
            state.stride,
            self.cfg.size_bin(state.size),
            state.fc_count,
        )

    def actions(self, state: MetaQNNState) -> tuple[int, ...]:
        return tuple(i for i, layer in enumerate(self.vocabulary) if self._legal(state, layer))

    def _legal(self, state: MetaQNNState, layer: Layer) -> bool:
        cfg, kind = self.cfg, state.layer_type
        if kind in ("gap", "softmax"):
            return False
        if isinstance(layer, Softmax):
            return True
        spatial = kind in ("start", "conv", "pool")
        if isinstance(layer, GAP):
            return spatial
        if state.depth >= cfg.max_depth:
            return False
        if isinstance(layer, Conv):
            return spatial and layer.kernel < state.size
        if isinstance(layer, Pool):
            return kind == "conv" and layer.size < state.size
        if isinstance(layer, FC):
            if kind == "fc":
                return state.fc_count < cfg.max_fc and layer.units <= state.filters
            return spatial and cfg.size_bin(state.size) <= cfg.fc_max_size and cfg.max_fc > 0
        return False

    def step(self, state: MetaQNNState, action: int) -> MetaQNNState:
        if not 0 <= action < len(self.vocabulary):
            raise ValueError(f"action {action} is not in the vocabulary of {len(self.vocabulary)}")
        layer = self.vocabulary[action]
        if not self._legal(state, layer):
            raise ValueError(f"{layer} is not a legal action in state {state}")
        layers = (*state.layers, layer)
        if isinstance(layer, Conv):
            return MetaQNNState(
                "conv", state.depth + 1, layer.filters, layer.kernel, layer.stride,
                layer.output_size(state.size), 0, layers,
            )  # fmt: skip
        if isinstance(layer, Pool):
            return MetaQNNState(
                "pool", state.depth + 1, 0, layer.size, layer.stride,
                layer.output_size(state.size), 0, layers,
            )  # fmt: skip
        if isinstance(layer, FC):
            return MetaQNNState(
                "fc", state.depth + 1, layer.units, 0, 0, 1, state.fc_count + 1, layers
            )
        kind = "gap" if isinstance(layer, GAP) else "softmax"
        return MetaQNNState(kind, state.depth, 0, 0, 0, state.size, state.fc_count, layers)

    def encode(self, state: MetaQNNState) -> np.ndarray:
        """One-hot layer type, depth, filters/units, kernel, size bin and FC count."""
        cfg = self.cfg
        widths = sorted(set(cfg.filters) | set(cfg.fc_units))
        kernels = sorted(set(cfg.kernels) | {size for size, _ in cfg.pools})
        bins = [value for _, value in cfg.size_bins]
        parts = [
            _one_hot(LAYER_TYPES.index(state.layer_type), len(LAYER_TYPES)),
            _one_hot(state.depth, cfg.max_depth + 1),
            _one_hot(widths.index(state.filters) if state.filters in widths else -1, len(widths)),
            _one_hot(kernels.index(state.kernel) if state.kernel in kernels else -1, len(kernels)),
            _one_hot(bins.index(cfg.size_bin(state.size)), len(bins)),
            _one_hot(state.fc_count, cfg.max_fc + 1),
        ]
        return np.concatenate(parts).astype(np.float32)


def _one_hot(index: int, size: int) -> np.ndarray:
    vector = np.zeros(size, dtype=np.float32)
    if 0 <= index < size:
        vector[index] = 1.0
    return vector
