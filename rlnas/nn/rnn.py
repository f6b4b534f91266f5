"""Recurrent language models: ENAS's searched cell as a drop-in recurrent layer, the LSTM
baseline, and the super-network that holds every node's matrices with shared weights.

:class:`CellRNN` runs a cell of :mod:`rlnas.arch.rnn` over a sequence the way
``nn.RNN``/``nn.GRU`` do (one layer, sequence first): ``(T, B, input_size)`` and an
optional state ``(1, B, hidden_size)`` in, the outputs ``(T, B, hidden_size)`` and the
last state ``(1, B, hidden_size)`` out. Its parameters are

- ``w_x`` (input -> gate and value of node 1, with bias) and ``w_h`` (h_{t-1} -> the same),
- ``edges.n{i}_from{j}``: the matrices (with bias) of node i reading node j,

so a child cell's parameters are a subset of the super-network's, which has an edge for
every pair j < i (:meth:`RnnSuperNet.child_state_dict`). A :class:`LanguageModel` wraps
any such layer (or ``nn.LSTM``) between an embedding (``encoder``) and a linear
``decoder``, with dropout on the embeddings and on the recurrent outputs.

>>> import torch
>>> from rlnas.arch import parse
>>> model = build_rnn(parse("[CELL(8,16), TANH(0), RELU(1), SIGM(1), LM(30)]"), (1, 1, 1), 30,
...                   BuildOptions(dropout=0.0))
>>> logits, state = model(torch.zeros(5, 2, dtype=torch.long))  # (T, B) token ids
>>> logits.shape, state.shape
(torch.Size([5, 2, 30]), torch.Size([1, 2, 16]))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

import torch
from torch import Tensor, nn

from rlnas.arch import Architecture
from rlnas.arch.rnn import CellNode, RnnPlan, rnn_plan
from rlnas.nn.builder import register_builder
from rlnas.nn.options import BuildOptions

__all__ = ["CellRNN", "LanguageModel", "RnnSuperNet", "build_rnn", "edge_name"]

_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "identity": lambda x: x,
}


def edge_name(node: int, prev: int) -> str:
    """The module name of node ``node``'s matrices when it reads node ``prev`` (1-based)."""
    return f"n{node}_from{prev}"


def _highway(gate: Tensor, value: Tensor, carry: Tensor, activation: str) -> Tensor:
    """ENAS's node: ``c * f(value) + (1 - c) * carry`` with ``c = sigmoid(gate)``."""
    c = torch.sigmoid(gate)
    return carry + c * (_ACTIVATIONS[activation](value) - carry)


class CellRNN(nn.Module):
    """A recurrent layer running the cell ``nodes``; a drop-in for a one-layer ``nn.RNN``.

    ``edges`` lists the ``(i, j)`` pairs to hold matrices for (default: the ones ``nodes``
    use); a super-network passes every pair and the child's ``nodes`` to :meth:`forward`.
    """

    def __init__(
        self,
        nodes: Sequence[CellNode],
        input_size: int,
        hidden_size: int,
        *,
        edges: Iterable[tuple[int, int]] | None = None,
    ) -> None:
        super().__init__()
        self.nodes = tuple(nodes)
        self.input_size, self.hidden_size = input_size, hidden_size
        if edges is None:
            edges = [(i, n.prev) for i, n in enumerate(self.nodes, start=1) if i >= 2]
        self.w_x = nn.Linear(input_size, 2 * hidden_size)  # x_t -> (gate, value) of node 1
        self.w_h = nn.Linear(hidden_size, 2 * hidden_size, bias=False)  # h_{t-1} -> same
        self.edges = nn.ModuleDict(
            {edge_name(i, j): nn.Linear(hidden_size, 2 * hidden_size) for i, j in sorted(edges)}
        )

    def forward(
        self, input: Tensor, hx: Tensor | None = None, nodes: Sequence[CellNode] | None = None
    ) -> tuple[Tensor, Tensor]:
        # (T, B, input_size), (1, B, H) -> (T, B, H), (1, B, H)
        nodes = self.nodes if nodes is None else tuple(nodes)
        if not nodes:
            raise ValueError("a cell needs at least one node")
        steps, batch = input.shape[0], input.shape[1]
        h = input.new_zeros(batch, self.hidden_size) if hx is None else hx[0]
        reads = [
            (node.activation, node.prev - 1, self.edges[edge_name(i, node.prev)])
            for i, node in enumerate(nodes[1:], start=2)
        ]
        used = {node.prev for node in nodes}
        loose = [i - 1 for i in range(1, len(nodes) + 1) if i not in used]  # 0-based
        first = nodes[0].activation
        xs = self.w_x(input)  # (T, B, 2H): node 1's input part, for every step at once
        outputs = []
        for t in range(steps):
            gate, value = (xs[t] + self.w_h(h)).chunk(2, dim=-1)  # (B, H) each
            states = [_highway(gate, value, h, first)]
            for activation, src, linear in reads:
                gate, value = linear(states[src]).chunk(2, dim=-1)
                states.append(_highway(gate, value, states[src], activation))
            h = (
                states[loose[0]]
                if len(loose) == 1
                else torch.stack([states[i] for i in loose]).mean(0)
            )
            outputs.append(h)
        return torch.stack(outputs), h.unsqueeze(0)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, nodes={' '.join(map(str, self.nodes))}"


class LanguageModel(nn.Module):
    """``encoder`` (embedding) -> dropout -> ``rnn`` -> dropout -> ``decoder`` (linear).

    ``forward(tokens (T, B) int64, state=None) -> (logits (T, B, vocab), state)``; the
    state is the recurrent layer's (a tensor for :class:`CellRNN`, ``(h, c)`` for an LSTM)
    and carries over between calls, as in truncated back-propagation through time.
    """

    def __init__(
        self, vocab: int, embedding: int, hidden: int, rnn: nn.Module, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.encoder = nn.Embedding(vocab, embedding)
        self.rnn = rnn
        self.drop = nn.Dropout(dropout)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(
        self, tokens: Tensor, state: Any = None, nodes: Sequence[CellNode] | None = None
    ) -> tuple[Tensor, Any]:
        # (T, B) -> (T, B, vocab) logits and the new state
        embedded = self.drop(self.encoder(tokens))  # (T, B, E)
        if nodes is None:
            output, state = self.rnn(embedded, state)  # (T, B, H)
        else:
            output, state = self.rnn(embedded, state, nodes)
        return self.decoder(self.drop(output)), state


def build_rnn(
    arch: Architecture, input_shape: Sequence[int], num_classes: int, options: BuildOptions
) -> LanguageModel:
    """The registered builder of the ``rnn`` family (see :func:`rlnas.nn.build`): the
    language model of ``arch``, with ``options.dropout`` on embeddings and outputs.
    ``input_shape`` is ignored (the input is token ids)."""
    plan = rnn_plan(arch)
    rnn: nn.Module
    if plan.kind == "lstm":
        rnn = nn.LSTM(plan.embedding, plan.hidden)
    else:
        rnn = CellRNN(plan.nodes, plan.embedding, plan.hidden)
    return LanguageModel(plan.vocab, plan.embedding, plan.hidden, rnn, options.dropout)


class RnnSuperNet(LanguageModel):
    """Every cell of an ``rnn-cell`` space with shared weights: one embedding, ``w_x``,
    ``w_h``, a matrix pair for every edge j -> i (j < i <= ``num_nodes``), one decoder.
    :meth:`run` computes child ``arch``; a child using edge j -> i uses (and its training
    step updates) the same tensor as every other child using that edge."""

    def __init__(
        self, num_nodes: int, embedding: int, hidden: int, vocab: int, dropout: float = 0.0
    ) -> None:
        pairs = [(i, j) for i in range(2, num_nodes + 1) for j in range(1, i)]
        cell = CellRNN((), embedding, hidden, edges=pairs)
        super().__init__(vocab, embedding, hidden, cell, dropout)
        self.num_nodes, self.embedding, self.hidden, self.vocab = (
            num_nodes, embedding, hidden, vocab,
        )  # fmt: skip

    @classmethod
    def from_space(cls, space: dict[str, Any], dropout: float = 0.0) -> RnnSuperNet:
        """The super-network of the space whose :meth:`SearchSpace.config` is ``space``."""
        return cls(
            space["num_nodes"], space["embedding_size"], space["hidden_size"],
            space["vocab_size"], dropout,
        )  # fmt: skip

    def plan(self, arch: Architecture) -> RnnPlan:
        """``rnn_plan(arch)``, checked to be a child of this super-network (else ValueError)."""
        plan = _cached_plan(arch)
        if (plan.kind, len(plan.nodes), plan.embedding, plan.hidden, plan.vocab) != (
            "cell", self.num_nodes, self.embedding, self.hidden, self.vocab,
        ):  # fmt: skip
            raise ValueError(f"{arch} is not a child of this super-network")
        return plan

    def run(self, tokens: Tensor, state: Tensor | None, arch: Architecture) -> tuple[Tensor, Any]:
        """Child ``arch``'s logits ``(T, B, vocab)`` and new state for ``tokens (T, B)``."""
        return self(tokens, state, self.plan(arch).nodes)

    def child_state_dict(self, arch: Architecture) -> dict[str, Tensor]:
        """The shared tensors child ``arch`` uses, under its standalone model's names."""
        wanted = {"rnn.w_x.weight", "rnn.w_x.bias", "rnn.w_h.weight"}
        wanted |= {f"rnn.edges.{edge_name(i, j)}.{p}" for i, j in self.plan(arch).edges
                   for p in ("weight", "bias")}  # fmt: skip
        return {
            k: v
            for k, v in self.state_dict().items()
            if k in wanted or k.startswith(("encoder.", "decoder."))
        }


@lru_cache(maxsize=4096)
def _cached_plan(arch: Architecture) -> RnnPlan:
    return rnn_plan(arch)


register_builder("rnn", build_rnn)
