"""Layer specs of recurrent language models (ENAS's recurrent cell, and the LSTM baseline):
pure data, part of the grammar.

A language model embeds each token, runs a recurrent layer over the sequence and decodes
every step's hidden state into scores over the vocabulary::

    >>> from rlnas.arch import parse
    >>> arch = parse("[CELL(16,32), TANH(0), RELU(1), SIGM(1), IDENT(2), LM(50)]")
    >>> plan = rnn_plan(arch)
    >>> plan.kind, plan.loose_ends  # node 1 feeds 2 and 3, node 2 feeds 4
    ('cell', (3, 4))
    >>> str(equal_size_lstm(arch))
    '[LSTM(16,40), LM(50)]'

- ``CELL(e,h)``: a token embedding of size e, then the searched cell of h units;
- ``TANH(p)``, ``RELU(p)``, ``SIGM(p)``, ``IDENT(p)``: one node of the cell, with its
  activation, reading node ``p`` (1-based); only node 1 reads ``p = 0``, the cell's input
  (the token's embedding x_t and the previous hidden state h_{t-1});
- ``LSTM(e,h)``: the baseline: a token embedding of size e, then an LSTM of h units;
- ``LM(v)``: the terminal: a linear decoder to v scores (the vocabulary size).

The cell is ENAS's (Pham et al. 2018), a highway network per node: node 1 computes
``c = sigmoid(x W_xc + h_{t-1} W_hc)``, ``h_1 = c * f(x W_xh + h_{t-1} W_hh) + (1 - c) *
h_{t-1}``; node i reading node j computes ``c = sigmoid(h_j W_c)``, ``h_i = c * f(h_j W_h)
+ (1 - c) * h_j`` with its own matrices for that edge; the new hidden state h_t is the
mean of the loose ends, the nodes no other node reads. Importing :mod:`rlnas` registers
these tokens with the parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlnas.arch.chain import Softmax
from rlnas.arch.grammar import Architecture, Layer, register_layer

__all__ = [
    "ACTIVATIONS",
    "Cell",
    "CellNode",
    "IdentityNode",
    "LMHead",
    "LSTMLayer",
    "ReluNode",
    "RnnPlan",
    "SigmoidNode",
    "TanhNode",
    "equal_size_lstm",
    "lm_architecture",
    "make_cell_node",
    "rnn_plan",
]

FAMILY = "rnn"


@register_layer
@dataclass(frozen=True)
class Cell(Layer):
    """``CELL(e,h)``: token embedding of size e into a searched recurrent cell of h units."""

    embedding: int
    hidden: int
    token: ClassVar[str] = "CELL"
    family: ClassVar[str] = FAMILY


@register_layer
@dataclass(frozen=True)
class LSTMLayer(Layer):
    """``LSTM(e,h)``: token embedding of size e into a one-layer LSTM of h units."""

    embedding: int
    hidden: int
    token: ClassVar[str] = "LSTM"
    family: ClassVar[str] = FAMILY


@dataclass(frozen=True)
class CellNode(Layer):
    """One node of the cell: its ``activation`` and the node ``prev`` it reads (0: input)."""

    prev: int
    family: ClassVar[str] = FAMILY
    zero_ok: ClassVar[frozenset[str]] = frozenset({"prev"})
    #: The activation's name: one of :data:`ACTIVATIONS`.
    activation: ClassVar[str] = ""


@register_layer
@dataclass(frozen=True)
class TanhNode(CellNode):
    """``TANH(p)``: a node with tanh."""

    token: ClassVar[str] = "TANH"
    activation: ClassVar[str] = "tanh"


@register_layer
@dataclass(frozen=True)
class ReluNode(CellNode):
    """``RELU(p)``: a node with ReLU."""

    token: ClassVar[str] = "RELU"
    activation: ClassVar[str] = "relu"


@register_layer
@dataclass(frozen=True)
class SigmoidNode(CellNode):
    """``SIGM(p)``: a node with the logistic sigmoid."""

    token: ClassVar[str] = "SIGM"
    activation: ClassVar[str] = "sigmoid"


@register_layer
@dataclass(frozen=True)
class IdentityNode(CellNode):
    """``IDENT(p)``: a node without a non-linearity (the gate still mixes)."""

    token: ClassVar[str] = "IDENT"
    activation: ClassVar[str] = "identity"


@register_layer
@dataclass(frozen=True)
class LMHead(Softmax):
    """Terminal ``LM(v)``: a linear decoder from the hidden state to v token scores."""

    token: ClassVar[str] = "LM"
    family: ClassVar[str] = FAMILY


_NODES: dict[str, type[CellNode]] = {
    cls.activation: cls for cls in (TanhNode, ReluNode, SigmoidNode, IdentityNode)
}
#: ENAS's four activations, in the order the ``rnn-cell`` space offers them.
ACTIVATIONS: tuple[str, ...] = tuple(_NODES)


def make_cell_node(activation: str, prev: int) -> CellNode:
    """The node with ``activation`` (one of :data:`ACTIVATIONS`) reading node ``prev``.

    >>> make_cell_node("relu", 2)
    ReluNode(prev=2)
    """
    cls = _NODES.get(activation)
    if cls is None:
        raise ValueError(f"unknown activation {activation!r}; choose from {', '.join(ACTIVATIONS)}")
    return cls(prev)


@dataclass(frozen=True)
class RnnPlan:
    """A validated language-model architecture, as the builders need it.

    ``kind`` is ``"cell"`` (a searched cell, ``nodes`` non-empty) or ``"lstm"``.
    """

    kind: str
    embedding: int
    hidden: int
    nodes: tuple[CellNode, ...]
    vocab: int

    @property
    def loose_ends(self) -> tuple[int, ...]:
        """1-based indices of the nodes no other node reads: their mean is the output."""
        read = {node.prev for node in self.nodes}
        return tuple(i for i in range(1, len(self.nodes) + 1) if i not in read)

    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """``(i, j)`` for every node i >= 2 reading node j: each has its own matrices."""
        return tuple((i, node.prev) for i, node in enumerate(self.nodes, start=1) if i >= 2)

    def params(self) -> int:
        """Trainable parameters of the built language model (embedding, recurrent layer
        with biases, decoder); equal to the sum over the module's parameters."""
        v, e, h = self.vocab, self.embedding, self.hidden
        outer = v * e + h * v + v  # embedding, decoder weight and bias
        if self.kind == "lstm":
            return outer + 4 * h * (e + h) + 8 * h  # nn.LSTM: two biases per gate
        first = 2 * h * (e + 1) + 2 * h * h  # x -> (gate, value) with bias; h_{t-1} -> both
        return outer + first + (len(self.nodes) - 1) * (2 * h * h + 2 * h)

    def macs_per_token(self) -> int:
        """Multiply-accumulates to read one token and score the next one."""
        e, h = self.embedding, self.hidden
        if self.kind == "lstm":
            recurrent = 4 * h * (e + h)
        else:
            recurrent = 2 * h * (e + h) + (len(self.nodes) - 1) * 2 * h * h
        return recurrent + h * self.vocab


def rnn_plan(arch: Architecture) -> RnnPlan:
    """Check that ``arch`` is a language model and return its :class:`RnnPlan`.

    Raises :class:`ValueError` naming the problem: not ``CELL``/``LSTM`` first and ``LM``
    last, nodes after ``LSTM`` or none after ``CELL``, a layer of another family, or a node
    reading a node that is not before it (node 1 reads 0, node i reads 1..i-1).

    >>> from rlnas.arch import parse
    >>> rnn_plan(parse("[CELL(8,8), TANH(0), RELU(2), LM(10)]"))
    Traceback (most recent call last):
    ...
    ValueError: node 2 RELU(2) reads node 2; node 2 may read nodes 1..1
    """
    layers = arch.layers
    first, head = layers[0], layers[-1]
    if not isinstance(first, (Cell, LSTMLayer)) or not isinstance(head, LMHead):
        raise ValueError(
            f"{arch}: a language model starts with CELL(e,h) or LSTM(e,h) and ends with LM(v)"
        )
    nodes: list[CellNode] = []
    for position, layer in enumerate(layers[1:-1], start=2):
        if not isinstance(layer, CellNode):
            raise ValueError(f"{arch}: layer {position} {layer} is not a cell node")
        index = len(nodes) + 1  # 1-based
        allowed = range(0, 1) if index == 1 else range(1, index)
        if layer.prev not in allowed:
            where = "0 (the input)" if index == 1 else f"nodes 1..{index - 1}"
            raise ValueError(
                f"node {index} {layer} reads node {layer.prev}; node {index} may read {where}"
            )
        nodes.append(layer)
    if isinstance(first, LSTMLayer) and nodes:
        raise ValueError(f"{arch}: an LSTM(e,h) language model has no cell nodes")
    if isinstance(first, Cell) and not nodes:
        raise ValueError(f"{arch}: a CELL(e,h) needs at least one node, e.g. TANH(0)")
    kind = "cell" if isinstance(first, Cell) else "lstm"
    return RnnPlan(kind, first.embedding, first.hidden, tuple(nodes), head.classes)


def lm_architecture(
    nodes: tuple[CellNode, ...], *, embedding: int, hidden: int, vocab: int
) -> Architecture:
    """``[CELL(e,h), nodes..., LM(v)]``, or ``[LSTM(e,h), LM(v)]`` without nodes."""
    first: Layer = Cell(embedding, hidden) if nodes else LSTMLayer(embedding, hidden)
    return Architecture((first, *nodes, LMHead(vocab)))


def equal_size_lstm(arch: Architecture) -> Architecture:
    """The LSTM language model with ``arch``'s embedding and vocabulary whose hidden size
    brings its parameter count closest to ``arch``'s (the smaller size on a tie): the
    baseline every found cell is compared against."""
    target = rnn_plan(arch)
    want = target.params()

    def size(h: int) -> int:
        return RnnPlan("lstm", target.embedding, h, (), target.vocab).params()

    low, high = 1, 1
    while size(high) < want:  # params grow with h: bracket, then bisect
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if size(mid) < want else (low, mid)
    best = min((low, high), key=lambda h: (abs(size(h) - want), h))
    return lm_architecture((), embedding=target.embedding, hidden=best, vocab=target.vocab)
