"""ENAS's recurrent-cell search space (Pham et al. 2018; Zoph & Le 2017) as an MDP.

A cell has ``num_nodes`` nodes. Node 1 reads the cell's input (the token's embedding and
the previous hidden state) and the path takes one action for it, its activation; every
later node ``i`` takes two actions, in ENAS's order:

* which earlier node it reads (``from1`` .. ``from{i-1}``), then
* its activation (``tanh``, ``relu``, ``sigmoid``, ``identity`` by default).

The cell's output is the mean of its loose ends (see :mod:`rlnas.arch.rnn`). The
architecture is ``[CELL(e,h), node, ..., LM(vocab)]``; every cell of a space has the same
parameter count, since each node owns one pair of matrices whatever it chooses.

>>> space = RnnCellSpace(RnnCellConfig(num_nodes=3, embedding_size=8, hidden_size=8),
...                      vocab_size=20)
>>> space.vocabulary
('tanh', 'relu', 'sigmoid', 'identity', 'from1', 'from2')
>>> state = space.rollout([0, 4, 1, 5, 2])
>>> space.is_terminal(state), str(space.architecture(state))
(True, '[CELL(8,8), TANH(0), RELU(1), SIGM(2), LM(20)]')
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rlnas.arch import Architecture
from rlnas.arch.rnn import ACTIVATIONS, lm_architecture, make_cell_node, rnn_plan
from rlnas.spaces.base import SearchSpace

__all__ = ["RnnCellConfig", "RnnCellSpace", "RnnCellState"]


@dataclass(frozen=True)
class RnnCellConfig:
    """The knobs of the space; every one can be set from a TOML ``[space]`` table."""

    #: Nodes in the cell, N (ENAS: 12 on Penn Treebank; fewer here for CPUs).
    num_nodes: int = 8
    #: Size of the token embedding, and units of the cell (ENAS: 1000 and 1000).
    embedding_size: int = 64
    hidden_size: int = 64
    #: The activations a node chooses from (any of tanh, relu, sigmoid, identity).
    activations: tuple[str, ...] = ACTIVATIONS

    def __post_init__(self) -> None:
        for name in ("num_nodes", "embedding_size", "hidden_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"space.{name} must be a positive integer, got {value!r}")
        if not self.activations or len(set(self.activations)) != len(self.activations):
            raise ValueError("space.activations must be a non-empty list of distinct names")
        for activation in self.activations:
            try:
                make_cell_node(activation, 0)
            except ValueError as error:
                raise ValueError(f"space.activations: {error}") from None


@dataclass(frozen=True)
class RnnCellState:
    """The decisions so far: the node each node reads (``prevs``, node 1 reads 0) and the
    activation ids chosen (``acts``). One more entry in ``prevs`` than in ``acts`` means
    the next action is that node's activation; as many, that it is the next node's input."""

    prevs: tuple[int, ...] = (0,)
    acts: tuple[int, ...] = ()


class RnnCellSpace(SearchSpace[RnnCellState]):
    """The ``rnn-cell`` space for language models over ``vocab_size`` tokens."""

    modality = "text"

    def __init__(
        self, config: RnnCellConfig | None = None, *, vocab_size: int, name: str = "rnn-cell"
    ) -> None:
        if vocab_size < 2:
            raise ValueError(f"a language model needs at least 2 tokens, got {vocab_size}")
        self.cfg = config or RnnCellConfig()
        self.name = name
        self.vocab_size = vocab_size
        count = len(self.cfg.activations)
        self.vocabulary = (
            *self.cfg.activations,
            *(f"from{j}" for j in range(1, self.cfg.num_nodes)),
        )
        #: Action id of ``from1``; ``from{j}`` is ``FROM + j - 1``.
        self.FROM = count

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": "rnn",
            "vocab_size": self.vocab_size,
            **asdict(self.cfg),
        }

    @property
    def horizon(self) -> int:
        return 2 * self.cfg.num_nodes - 1

    def initial_state(self) -> RnnCellState:
        return RnnCellState()

    def is_terminal(self, state: RnnCellState) -> bool:
        return len(state.acts) == self.cfg.num_nodes

    def actions(self, state: RnnCellState) -> tuple[int, ...]:
        if self.is_terminal(state):
            return ()
        if len(state.prevs) > len(state.acts):  # this node's activation
            return tuple(range(self.FROM))
        node = len(state.acts) + 1  # the next node (>= 2) reads one of nodes 1..node-1
        return tuple(range(self.FROM, self.FROM + node - 1))

    def step(self, state: RnnCellState, action: int) -> RnnCellState:
        if action not in self.actions(state):
            raise ValueError(f"action {action} is not legal in state {state}")
        if action < self.FROM:
            return RnnCellState(state.prevs, (*state.acts, action))
        return RnnCellState((*state.prevs, action - self.FROM + 1), state.acts)

    def architecture(self, state: RnnCellState) -> Architecture:
        if not self.is_terminal(state):
            raise ValueError("only a terminal state describes an architecture")
        names = self.cfg.activations
        nodes = tuple(
            make_cell_node(names[a], p) for a, p in zip(state.acts, state.prevs, strict=True)
        )
        return lm_architecture(
            nodes,
            embedding=self.cfg.embedding_size,
            hidden=self.cfg.hidden_size,
            vocab=self.vocab_size,
        )

    def trajectory(self, arch: Architecture) -> tuple[int, ...]:
        """The action ids that produce ``arch``; ``ValueError`` if the space cannot."""
        try:
            plan = rnn_plan(arch)
        except ValueError as error:
            raise ValueError(f"{arch} is not in the {self.name} space: {error}") from None
        ids: list[int] = []
        for i, node in enumerate(plan.nodes, start=1):
            if node.activation not in self.cfg.activations:
                raise ValueError(f"{arch} is not in the {self.name} space: {node} is not allowed")
            if i >= 2:
                ids.append(self.FROM + node.prev - 1)
            ids.append(self.cfg.activations.index(node.activation))
        try:
            state = self.rollout(ids)
        except ValueError:
            state = None
        if state is None or not self.is_terminal(state) or self.architecture(state) != arch:
            raise ValueError(
                f"{arch} is not in the {self.name} space (nodes, sizes or vocabulary differ)"
            )
        return tuple(ids)

    def key(self, state: RnnCellState) -> Hashable:
        return state

    def encode(self, state: RnnCellState) -> np.ndarray:
        """One-hot: the node being decided, whether its input or its activation is next,
        and the last action taken."""
        nodes = self.cfg.num_nodes
        vector = np.zeros(nodes + 2 + len(self.vocabulary), dtype=np.float32)
        if self.is_terminal(state):
            return vector
        choosing_act = len(state.prevs) > len(state.acts)
        node = len(state.prevs) - 1 if choosing_act else len(state.acts)  # 0-based
        vector[node] = 1.0
        vector[nodes + int(choosing_act)] = 1.0
        if choosing_act and len(state.prevs) > 1:  # just chose this node's input
            vector[nodes + 2 + self.FROM + state.prevs[-1] - 1] = 1.0
        elif not choosing_act:  # just chose the previous node's activation
            vector[nodes + 2 + state.acts[-1]] = 1.0
        return vector
