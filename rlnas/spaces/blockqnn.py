"""BlockQNN's MDP over Network Structure Codes (Zhong et al. 2018), as NasGym poses it
(Robles & Vanschoren 2019): a whole network of at most ``max_layers`` layers, the terminal
included, designed layer by layer.

Each action appends one layer (see :mod:`rlnas.arch.blockqnn` for the tokens): convolution with
kernel in ``kernels`` (ReLU-conv-BN, ``filters`` filters), max or average pooling with
window in ``pools``, identity, add, concat, or the terminal classification head. Two
variants:

* ``blockqnn-chain`` (``multi_branch = false``, the seed's experiments): every layer reads
  the one before it; actions are conv, max pool, avg pool and terminal (8 with the
  defaults), all legal until the last position, where only the terminal is.
* ``blockqnn`` (``multi_branch = true``): a layer may read any earlier node (offsets back,
  the input included); identity, add (two nodes of equal shape) and concat (two nodes of
  equal spatial size) join branches. Only legal joins are offered.

The observation is NasGym's: the NSC matrix (``max_layers`` rows) with each row one-hot
encoded as (type, kernel, pred1[, pred2 in the multi-branch variant]), flattened.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

import numpy as np

from rlnas.arch import Architecture
from rlnas.arch.blockqnn import (
    NSC_TYPES,
    BAdd,
    BAvgPool,
    BConcat,
    BConv,
    BHead,
    BIdentity,
    BlockLayer,
    BMaxPool,
    Shape,
    layer_output,
    sources,
)
from rlnas.spaces.base import SearchSpace

__all__ = ["PRESETS", "BlockQNNConfig", "BlockQNNSpace", "BlockQNNState"]


@dataclass(frozen=True)
class BlockQNNConfig:
    """The knobs of the BlockQNN space; every one can be set from a TOML ``[space]`` table."""

    #: Filters of every convolution (NasGym: 64; 32 suits small data on a CPU).
    filters: int = 32
    #: Convolution kernel sizes.
    kernels: tuple[int, ...] = (1, 3, 5)
    #: Pooling windows (stride = window), for both max and average pooling.
    pools: tuple[int, ...] = (2, 3)
    #: At most this many layers, the terminal head included (the seed's d = 10).
    max_layers: int = 10
    #: Hidden units of the head (dense -> ReLU -> dropout -> dense); 0: one dense layer.
    head_units: int = 1024
    #: Layers may read any earlier node (identity, add, concat offered); else a chain.
    multi_branch: bool = True

    def __post_init__(self) -> None:
        for name in ("kernels", "pools"):
            values = getattr(self, name)
            if not values or any(not isinstance(v, int) or v <= 0 for v in values):
                raise ValueError(f"space.{name} must be a non-empty list of positive integers")
        if not isinstance(self.filters, int) or self.filters < 1:
            raise ValueError(f"space.filters must be a positive integer, got {self.filters!r}")
        if not isinstance(self.max_layers, int) or self.max_layers < 1:
            raise ValueError(
                f"space.max_layers must be a positive integer, got {self.max_layers!r}"
            )
        if not isinstance(self.head_units, int) or self.head_units < 0:
            raise ValueError(
                f"space.head_units must be a non-negative integer, got {self.head_units!r}"
            )
        if not isinstance(self.multi_branch, bool):
            raise ValueError("space.multi_branch must be true or false")


PRESETS: dict[str, BlockQNNConfig] = {
    "blockqnn": BlockQNNConfig(),
    "blockqnn-chain": BlockQNNConfig(multi_branch=False),
}


@dataclass(frozen=True)
class BlockQNNState:
    """The layers so far and the shape of every node (the input first)."""

    layers: tuple[BlockLayer, ...]
    shapes: tuple[Shape, ...]


class BlockQNNSpace(SearchSpace[BlockQNNState]):
    """BlockQNN's MDP for inputs of ``input_shape`` (C, H, W) and ``num_classes`` classes.

    >>> space = BlockQNNSpace(PRESETS["blockqnn-chain"], input_shape=(1, 8, 8), num_classes=10)
    >>> [str(layer) for layer in space.vocabulary]
    ['BC(32,1,1)', 'BC(32,3,1)', 'BC(32,5,1)', 'BMP(2,1)', 'BMP(3,1)', 'BAP(2,1)', 'BAP(3,1)', \
'BHEAD(1024,10)']
    >>> state = space.rollout([1, 3, 7])
    >>> str(space.architecture(state)), space.encode(state).shape
    ('[BC(32,3,1), BMP(2,1), BHEAD(1024,10)]', (240,))
    """

    def __init__(
        self,
        config: BlockQNNConfig | None = None,
        *,
        input_shape: tuple[int, int, int],
        num_classes: int,
        name: str = "blockqnn",
    ) -> None:
        if len(input_shape) != 3 or min(input_shape) < 1 or num_classes < 2:
            raise ValueError("input_shape must be three positive ints and num_classes at least 2")
        self.cfg = config or PRESETS["blockqnn"]
        self.name = name
        self.input_shape = (int(input_shape[0]), int(input_shape[1]), int(input_shape[2]))
        self.num_classes = num_classes
        cfg = self.cfg
        # Offsets back reach from the previous layer to the input of the last non-terminal
        # position; the chain variant only ever reads the previous layer.
        offsets = range(1, cfg.max_layers) if cfg.multi_branch else range(1, 2)
        vocab: list[BlockLayer] = [BConv(cfg.filters, k, o) for o in offsets for k in cfg.kernels]
        vocab += [BMaxPool(k, o) for o in offsets for k in cfg.pools]
        vocab += [BAvgPool(k, o) for o in offsets for k in cfg.pools]
        if cfg.multi_branch:
            vocab += [BIdentity(o) for o in offsets]
            vocab += [BAdd(a, b) for a, b in combinations(offsets, 2)]
            vocab += [BConcat(a, b) for a, b in combinations(offsets, 2)]
        vocab.append(BHead(cfg.head_units, num_classes))
        self.layers: tuple[BlockLayer, ...] = tuple(dict.fromkeys(vocab))
        self.vocabulary = self.layers
        self._kernels = max((*cfg.kernels, *cfg.pools)) + 1
        # Legality of a layer that reads one node depends on the position only; joins also
        # on the shapes of the two nodes they read. Precomputed once, actions() stays cheap.
        self._single = {
            position: tuple(
                i
                for i, layer in enumerate(self.layers)
                if not isinstance(layer, (BAdd, BConcat)) and self._fits(position, layer)
            )
            for position in range(1, cfg.max_layers + 1)
        }
        self._joins = {
            position: [
                (i, *sources(position, layer), isinstance(layer, BAdd))
                for i, layer in enumerate(self.layers)
                if isinstance(layer, (BAdd, BConcat)) and self._fits(position, layer)
            ]
            for position in range(1, cfg.max_layers + 1)
        }

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            **asdict(self.cfg),
        }

    @property
    def horizon(self) -> int:
        return self.cfg.max_layers

    def initial_state(self) -> BlockQNNState:
        return BlockQNNState((), (self.input_shape,))

    def is_terminal(self, state: BlockQNNState) -> bool:
        return bool(state.layers) and state.layers[-1].terminal

    def architecture(self, state: BlockQNNState) -> Architecture:
        if not self.is_terminal(state):
            raise ValueError("only a terminal state describes an architecture")
        return Architecture(state.layers)

    def key(self, state: BlockQNNState) -> Hashable:
        if self.cfg.multi_branch:
            return state.layers  # legality depends on every node, so the whole path
        last = state.layers[-1] if state.layers else None
        return (len(state.layers), last, state.shapes[-1])

    def _fits(self, position: int, layer: BlockLayer) -> bool:
        """Whether ``layer`` may sit at ``position`` whatever the shapes: the terminal
        anywhere, others before the last position reading nodes that exist."""
        if layer.terminal:
            return True
        return position < self.cfg.max_layers and all(o <= position for o in layer.preds)

    def actions(self, state: BlockQNNState) -> tuple[int, ...]:
        if self.is_terminal(state):
            return ()
        position = len(state.layers) + 1
        shapes = state.shapes
        joins = [
            i
            for i, a, b, add in self._joins[position]
            # add: equal shapes; concat: equal spatial sides
            if (shapes[a] == shapes[b] if add else shapes[a][1:] == shapes[b][1:])
        ]
        return tuple(sorted((*self._single[position], *joins)))

    def _legal(self, state: BlockQNNState, action: int) -> bool:
        return action in self.actions(state)

    def step(self, state: BlockQNNState, action: int) -> BlockQNNState:
        if not 0 <= action < len(self.vocabulary):
            raise ValueError(f"action {action} is not in the vocabulary of {len(self.vocabulary)}")
        layer = self.layers[action]
        if not self._legal(state, action):
            raise ValueError(f"{layer} is not a legal action after {state.layers}")
        if layer.terminal:
            return BlockQNNState((*state.layers, layer), state.shapes)
        position = len(state.layers) + 1
        shape = layer_output(position, layer, [state.shapes[s] for s in sources(position, layer)])
        return BlockQNNState((*state.layers, layer), (*state.shapes, shape))

    def encode(self, state: BlockQNNState) -> np.ndarray:
        """NasGym's observation: per NSC row one-hot (type, kernel, pred1[, pred2]), flattened;
        rows past the last layer are "empty". Predecessors are absolute node indices."""
        cfg = self.cfg
        width = len(NSC_TYPES) + self._kernels + cfg.max_layers * (2 if cfg.multi_branch else 1)
        rows = np.zeros((cfg.max_layers, width), dtype=np.float32)
        for row in range(cfg.max_layers):
            if row >= len(state.layers):
                rows[row, 0] = 1.0  # type "empty"
                continue
            layer, position = state.layers[row], row + 1
            preds = [position - 1] if layer.terminal else list(sources(position, layer))
            rows[row, NSC_TYPES.index(layer.nsc_type)] = 1.0
            rows[row, len(NSC_TYPES) + layer.kernel_size] = 1.0
            base = len(NSC_TYPES) + self._kernels
            for slot, node in enumerate(preds[: 2 if cfg.multi_branch else 1]):
                rows[row, base + slot * cfg.max_layers + node] = 1.0
        return rows.reshape(-1)
