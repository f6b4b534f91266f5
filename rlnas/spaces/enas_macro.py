"""ENAS's macro search space (Pham et al. 2018, after Zoph & Le 2017) as an MDP.

A network has ``num_layers`` nodes split evenly into stages, one per entry of
``filters`` (the fixed width of that stage), with a reduction (``RED``) at each stage
boundary. For each node, in order, the path takes

* one action choosing its operation (``conv3``, ``conv5``, ``sep3``, ``sep5``, ``max3``,
  ``avg3`` by default), then
* one yes/no action per earlier node that could feed it as a skip connection: nodes
  ``0 .. i-2`` for node ``i`` (node ``i-1`` is always its input).

These yes/no steps are :class:`~rlnas.spaces.base.LinkDecision` steps, so a controller
with Zoph & Le's anchor-point attention can compute them as one sigmoid per earlier node,
while tabular or random strategies see two ordinary actions. The architecture is
``[STEM(w0), node, ..., RED(w1), node, ..., HEAD(classes)]`` in the grammar of
:mod:`rlnas.arch.enas`.

>>> space = EnasMacroSpace(EnasMacroConfig(num_layers=3), image_size=8, num_classes=10)
>>> space.vocabulary
('conv3', 'conv5', 'sep3', 'sep5', 'max3', 'avg3', 'link', 'no-link')
>>> state = space.rollout([0, 3, 4, space.LINK])
>>> space.is_terminal(state), str(space.architecture(state))
(True, '[STEM(16), CONV(3,0), SEP(5,0), RED(32), MAXP(3,1), HEAD(10)]')
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rlnas.arch import Architecture, Layer
from rlnas.arch.enas import OPS, Head, Reduce, Stem, make_node, plan
from rlnas.spaces.base import LinkDecision, SearchSpace

__all__ = ["EnasMacroConfig", "EnasMacroSpace", "EnasMacroState"]


@dataclass(frozen=True)
class EnasMacroConfig:
    """The knobs of the space; every one can be set from a TOML ``[space]`` table."""

    #: Number of nodes, L (ENAS: 12 or 24 on CIFAR-10; small here for small images).
    num_layers: int = 6
    #: Width of each stage; one reduction between consecutive stages.
    filters: tuple[int, ...] = (16, 32)
    #: The operations a node chooses from (conv, sep, max or avg and an odd kernel).
    ops: tuple[str, ...] = OPS

    def __post_init__(self) -> None:
        if not isinstance(self.num_layers, int) or self.num_layers < 1:
            raise ValueError(
                f"space.num_layers must be a positive integer, got {self.num_layers!r}"
            )
        if not self.filters or any(not isinstance(f, int) or f < 1 for f in self.filters):
            raise ValueError("space.filters must be a non-empty list of positive integers")
        if len(self.filters) > self.num_layers:
            raise ValueError(
                f"space.filters has {len(self.filters)} stages but num_layers is "
                f"{self.num_layers}; every stage needs at least one node"
            )
        if not self.ops or len(set(self.ops)) != len(self.ops):
            raise ValueError("space.ops must be a non-empty list of distinct operation names")
        for op in self.ops:
            try:
                make_node(op)
            except ValueError as error:
                raise ValueError(f"space.ops: {error}") from None

    def stage(self, node: int) -> int:
        """The stage of node ``node`` (0-based): stages split the nodes evenly."""
        return node * len(self.filters) // self.num_layers


@dataclass(frozen=True)
class EnasMacroState:
    """The decisions so far: an operation id and a skip mask per node, and which earlier
    node's link is decided next (``source``; -1 when the next action picks an operation)."""

    ops: tuple[int, ...] = ()
    skips: tuple[int, ...] = ()
    source: int = -1


class EnasMacroSpace(SearchSpace[EnasMacroState]):
    """The ``enas-macro`` space for images of side ``image_size`` and ``num_classes`` classes."""

    def __init__(
        self,
        config: EnasMacroConfig | None = None,
        *,
        image_size: int,
        num_classes: int,
        name: str = "enas-macro",
    ) -> None:
        if image_size <= 0 or num_classes <= 1:
            raise ValueError("image_size must be positive and num_classes at least 2")
        self.cfg = config or EnasMacroConfig()
        self.name = name
        self.image_size = image_size
        self.num_classes = num_classes
        self.vocabulary = (*self.cfg.ops, "link", "no-link")
        #: Action ids of the two answers of a link step.
        self.LINK = len(self.cfg.ops)
        self.NO_LINK = self.LINK + 1
        # step index at which node j's operation is chosen: its anchor point
        self._anchor = [
            j + sum(max(k - 1, 0) for k in range(j)) for j in range(self.cfg.num_layers)
        ]

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": "enas",
            "image_size": self.image_size,
            "num_classes": self.num_classes,
            **asdict(self.cfg),
        }

    @property
    def horizon(self) -> int:
        layers = self.cfg.num_layers
        return layers + sum(max(i - 1, 0) for i in range(layers))

    def initial_state(self) -> EnasMacroState:
        return EnasMacroState()

    def is_terminal(self, state: EnasMacroState) -> bool:
        return len(state.ops) == self.cfg.num_layers and state.source < 0

    def actions(self, state: EnasMacroState) -> tuple[int, ...]:
        if state.source >= 0:
            return (self.LINK, self.NO_LINK)
        if self.is_terminal(state):
            return ()
        return tuple(range(len(self.cfg.ops)))

    def link_decision(self, state: EnasMacroState) -> LinkDecision | None:
        if state.source < 0:
            return None
        return LinkDecision(self._anchor[state.source], self.LINK, self.NO_LINK)

    def step(self, state: EnasMacroState, action: int) -> EnasMacroState:
        if action not in self.actions(state):
            raise ValueError(f"action {action} is not legal in state {state}")
        if state.source >= 0:  # a link step of the last node
            node = len(state.ops) - 1
            mask = state.skips[-1] | (1 << state.source if action == self.LINK else 0)
            following = state.source + 1 if state.source + 1 <= node - 2 else -1
            return EnasMacroState(state.ops, (*state.skips[:-1], mask), following)
        node = len(state.ops)
        return EnasMacroState((*state.ops, action), (*state.skips, 0), 0 if node >= 2 else -1)

    def architecture(self, state: EnasMacroState) -> Architecture:
        if not self.is_terminal(state):
            raise ValueError("only a terminal state describes an architecture")
        cfg = self.cfg
        layers: list[Layer] = [Stem(cfg.filters[0])]
        for i, (op, mask) in enumerate(zip(state.ops, state.skips, strict=True)):
            if i and cfg.stage(i) != cfg.stage(i - 1):
                layers.append(Reduce(cfg.filters[cfg.stage(i)]))
            layers.append(make_node(cfg.ops[op], mask))
        layers.append(Head(self.num_classes))
        return Architecture(tuple(layers))

    def trajectory(self, arch: Architecture) -> tuple[int, ...]:
        """The action ids that produce ``arch``; ``ValueError`` if the space cannot."""
        try:
            dag = plan(arch)
        except ValueError as error:
            raise ValueError(f"{arch} is not in the {self.name} space: {error}") from None
        ids: list[int] = []
        for i, node in enumerate(dag.nodes):
            if node.op not in self.cfg.ops:
                raise ValueError(f"{arch} is not in the {self.name} space: {node} is not allowed")
            ids.append(self.cfg.ops.index(node.op))
            ids += [self.LINK if j in node.sources else self.NO_LINK for j in range(i - 1)]
        try:
            state = self.rollout(ids)
        except ValueError:
            state = None
        if state is None or not self.is_terminal(state) or self.architecture(state) != arch:
            raise ValueError(f"{arch} is not in the {self.name} space (nodes, stages or widths)")
        return tuple(ids)

    def key(self, state: EnasMacroState) -> Hashable:
        return state

    def encode(self, state: EnasMacroState) -> np.ndarray:
        """One-hot: the node being decided, link step or not, the link's source node, the
        last operation chosen, and the node's stage."""
        cfg, layers = self.cfg, self.cfg.num_layers
        linking = state.source >= 0
        node = len(state.ops) - 1 if linking else len(state.ops)
        vector = np.zeros(2 * layers + 2 + len(cfg.ops) + len(cfg.filters), dtype=np.float32)
        vector[min(node, layers)] = 1.0
        offset = layers + 1
        if linking:
            vector[offset] = 1.0
            vector[offset + 1 + state.source] = 1.0
        if state.ops:
            vector[offset + 1 + layers + state.ops[-1]] = 1.0
        if node < layers:
            vector[offset + 1 + layers + len(cfg.ops) + cfg.stage(node)] = 1.0
        return vector
