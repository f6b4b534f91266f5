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

Hard limits (``max_params``, ``max_flops``): the state carries the parameters and
multiply-accumulates of the path so far (counted exactly as :func:`rlnas.nn.build` makes
the network), and an action is offered only if some completion of the network after it
stays within both limits. So an over-budget model can never be proposed, every state keeps
a legal action, and every model within the limits stays reachable. The cheapest
completions of each state are a small Pareto set, computed once per state abstraction.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from rlnas.arch import FC, GAP, Architecture, Conv, Layer, Pool, Softmax
from rlnas.arch.shapes import Shape, layer_macs, layer_output, layer_params
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
    #: Hard limits: no action is offered after which every completion would pass them
    #: (``--max-params``, ``--max-flops``; FLOPs are multiply-accumulates per image).
    max_params: int | None = None
    max_flops: int | None = None
    #: Count parameters as built with batch norm (set from the trainer's build options).
    batch_norm: bool = False

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
        for name in ("max_params", "max_flops"):
            limit = getattr(self, name)
            if limit is not None and (not isinstance(limit, int) or limit < 1):
                raise ValueError(f"{name} must be a positive integer, got {limit!r}")
        lows = [low for low, _ in self.size_bins]
        if not lows or lows != sorted(lows, reverse=True) or lows[-1] > 1:
            raise ValueError(
                "space.size_bins must be [lowest size, value] pairs, largest first, "
                "the last from 1 or 0"
            )

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
    # Derived from the path, for the hard limits: per-sample shape, params and MACs so far.
    shape: Shape = field(default=(), repr=False)
    params: int = field(default=0, repr=False)
    flops: int = field(default=0, repr=False)


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
        input_shape: tuple[int, int, int] | None = None,
    ) -> None:
        if image_size <= 0 or num_classes <= 1:
            raise ValueError("image_size must be positive and num_classes at least 2")
        self.cfg = config or PRESETS["metaqnn"]
        self.name = name
        self.image_size = image_size
        self.num_classes = num_classes
        #: (C, H, W) of the input images, for counting costs (square, 1 channel by default).
        self.input_shape = input_shape or (1, image_size, image_size)
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
        self._completions: dict[MetaQNNState, tuple[tuple[int, int], ...]] = {}
        self._legal_by_rules: dict[tuple[Any, ...], tuple[int, ...]] = {}
        if self._limited:
            start = self.initial_state()
            if not self.actions(start):
                params = self._cheapest(start)[0][0]
                raise ValueError(
                    f"no architecture of the {name} space fits max_params={self.cfg.max_params}"
                    f" and max_flops={self.cfg.max_flops}: the smallest has {params:,} params"
                    f" and the cheapest {min(f for _, f in self._cheapest(start)):,} FLOPs;"
                    " raise the limits"
                )

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "image_size": self.image_size,
            "num_classes": self.num_classes,
            **asdict(self.cfg),
            **({"input_shape": list(self.input_shape)} if self._limited else {}),
        }

    @property
    def _limited(self) -> bool:
        return self.cfg.max_params is not None or self.cfg.max_flops is not None

    @property
    def horizon(self) -> int:
        return self.cfg.max_depth + 1

    def initial_state(self) -> MetaQNNState:
        return MetaQNNState(size=self.image_size, shape=self.input_shape)

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
        # The shape rules read only these fields: a strategy asks for the same few
        # hundred states' actions again and again (Q-learning's every update), so the
        # legal layers are computed once per rule key.
        rules = (state.layer_type, state.depth, state.size, state.filters, state.fc_count)
        legal = self._legal_by_rules.get(rules)
        if legal is None:
            legal = tuple(i for i, layer in enumerate(self.vocabulary) if self._legal(state, layer))
            self._legal_by_rules[rules] = legal
        if self._limited:
            return tuple(i for i in legal if self._fits(state, self.vocabulary[i]))
        return tuple(legal)

    def _legal(self, state: MetaQNNState, layer: Layer) -> bool:
        return self._broken_rule(state, layer) is None

    def _broken_rule(self, state: MetaQNNState, layer: Layer) -> str | None:
        """The shape rule ``layer`` breaks after ``state`` (None: it breaks none)."""
        cfg, kind = self.cfg, state.layer_type
        if kind in ("gap", "softmax"):
            return "follows the terminal layer"
        if isinstance(layer, Softmax):
            return None
        spatial = kind in ("start", "conv", "pool")
        if isinstance(layer, GAP):
            return None if spatial else "needs a spatial input: global pooling after FC"
        if state.depth >= cfg.max_depth:
            return f"passes max_depth: at most {cfg.max_depth} layers before the terminal one"
        if isinstance(layer, Conv):
            if not spatial:
                return "follows an FC layer: after FC only FC or SM"
            return None if layer.kernel < state.size else (
                f"has a kernel no smaller than the {state.size}x{state.size} image"
            )  # fmt: skip
        if isinstance(layer, Pool):
            if kind != "conv":
                return "does not follow a convolution: pooling only right after a convolution"
            return None if layer.size < state.size else (
                f"has a window no smaller than the {state.size}x{state.size} image"
            )  # fmt: skip
        if isinstance(layer, FC):
            if kind == "fc":
                if state.fc_count >= cfg.max_fc:
                    return f"passes max_fc: at most {cfg.max_fc} FC layers in a row"
                return None if layer.units <= state.filters else (
                    f"is wider than the FC({state.filters}) before it"
                )  # fmt: skip
            if cfg.max_fc == 0 or not spatial:
                return "is not offered: the space has no FC layers"
            if cfg.size_bin(state.size) > cfg.fc_max_size:
                return (
                    f"comes while the image is {state.size}x{state.size}: FC only once it is small"
                )
            return None
        return "is not a MetaQNN layer"

    def explain(self, state: MetaQNNState, token: Hashable) -> str:
        assert isinstance(token, Layer)
        rule = self._broken_rule(state, token)
        if rule is None and self._limited:
            return "would take every completion past max_params or max_flops"
        return rule or "is not allowed there"

    def step(self, state: MetaQNNState, action: int) -> MetaQNNState:
        if not 0 <= action < len(self.vocabulary):
            raise ValueError(f"action {action} is not in the vocabulary of {len(self.vocabulary)}")
        layer = self.vocabulary[action]
        if not self._legal(state, layer) or (self._limited and not self._fits(state, layer)):
            raise ValueError(f"{layer} is not a legal action in state {state}")
        return self._next(state, layer)

    def _next(self, state: MetaQNNState, layer: Layer) -> MetaQNNState:
        layers = (*state.layers, layer)
        shape = layer_output(layer, state.shape)
        params = state.params + layer_params(layer, state.shape, shape, self.cfg.batch_norm)
        flops = state.flops + layer_macs(layer, state.shape, shape)
        if isinstance(layer, Conv):
            return MetaQNNState(
                "conv", state.depth + 1, layer.filters, layer.kernel, layer.stride,
                layer.output_size(state.size), 0, layers, shape, params, flops,
            )  # fmt: skip
        if isinstance(layer, Pool):
            return MetaQNNState(
                "pool", state.depth + 1, 0, layer.size, layer.stride,
                layer.output_size(state.size), 0, layers, shape, params, flops,
            )  # fmt: skip
        if isinstance(layer, FC):
            return MetaQNNState(
                "fc", state.depth + 1, layer.units, 0, 0, 1, state.fc_count + 1, layers,
                shape, params, flops,
            )  # fmt: skip
        kind = "gap" if isinstance(layer, GAP) else "softmax"
        return MetaQNNState(
            kind, state.depth, 0, 0, 0, state.size, state.fc_count, layers, shape, params, flops
        )

    # Hard limits. A "cost key" is all that decides which layers may follow a state and
    # what they cost: not the path itself.

    @staticmethod
    def _cost_key(state: MetaQNNState) -> MetaQNNState:
        return replace(state, kernel=0, stride=0, layers=(), params=0, flops=0)

    def _fits(self, state: MetaQNNState, layer: Layer) -> bool:
        """Whether some completion after ``layer`` keeps the whole network in the limits."""
        after = self._next(state, layer)
        max_params = self.cfg.max_params if self.cfg.max_params is not None else float("inf")
        max_flops = self.cfg.max_flops if self.cfg.max_flops is not None else float("inf")
        return any(
            after.params + p <= max_params and after.flops + f <= max_flops
            for p, f in self._cheapest(self._cost_key(after))
        )

    def _cheapest(self, key: MetaQNNState) -> tuple[tuple[int, int], ...]:
        """The Pareto set of (params, MACs) still to add to reach a terminal state from
        ``key``, by the shape rules alone (ignoring the limits); memoised per key."""
        known = self._completions.get(key)
        if known is not None:
            return known
        if self.is_terminal(key):
            front = [(0, 0)]
        else:
            points: set[tuple[int, int]] = set()
            for layer in self.vocabulary:
                if self._legal(key, layer):
                    after = self._next(key, layer)
                    points.update(
                        (after.params + p, after.flops + f)
                        for p, f in self._cheapest(self._cost_key(after))
                    )
            front = []
            for p, f in sorted(points):  # by params, then MACs: keep strictly fewer MACs
                if not front or f < front[-1][1]:
                    front.append((p, f))
        self._completions[key] = tuple(front)
        return self._completions[key]

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
