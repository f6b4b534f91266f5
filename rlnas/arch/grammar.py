"""The one grammar of every notation: layer specs, architectures, the token registry and
the parser.

A layer spec is a frozen dataclass with a grammar ``token``; its fields are the
integers written in brackets, in order. An :class:`Architecture` is a hashable tuple of
layer specs whose last one is terminal. Each notation (:mod:`rlnas.arch.chain`,
:mod:`~rlnas.arch.blockqnn`, :mod:`~rlnas.arch.enas`, :mod:`~rlnas.arch.rnn`) registers
its tokens here with :func:`register_layer`; importing :mod:`rlnas.arch` registers them
all, so :func:`parse` reads every notation.

Free of torch and of the rest of rlnas: it is the vocabulary every other part speaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import ClassVar

__all__ = [
    "LAYER_TYPES",
    "Architecture",
    "ArchitectureSyntaxError",
    "Layer",
    "parse",
    "register_layer",
]


class ArchitectureSyntaxError(ValueError):
    """A string is not a valid architecture; the message names the position."""

    def __init__(self, text: str, position: int, expected: str) -> None:
        self.text = text
        self.position = position
        self.expected = expected
        found = repr(text[position]) if position < len(text) else "end of text"
        super().__init__(
            f"invalid architecture at position {position}: expected {expected}, "
            f"found {found} in {text!r}"
        )


@dataclass(frozen=True)
class Layer:
    """Base of all layer specs. ``token`` names the layer in the grammar."""

    token: ClassVar[str] = ""
    #: True for the layers that end a network (they produce the class scores).
    terminal: ClassVar[bool] = False
    #: The network family the layer belongs to; :func:`rlnas.nn.build` picks the builder
    #: of an architecture's family ("chain": MetaQNN's layer-after-layer networks).
    family: ClassVar[str] = "chain"
    #: Fields that may be 0 in the grammar (e.g. an input index); all others must be > 0.
    zero_ok: ClassVar[frozenset[str]] = frozenset()
    #: True for tokens that set a training hyper-parameter instead of adding a layer
    #: (:class:`~rlnas.arch.chain.LearningRate`, :class:`~rlnas.arch.chain.BatchSize`).
    hyper: ClassVar[bool] = False
    #: For a hyper-parameter token: the training setting it sets (to :attr:`value`).
    setting: ClassVar[str] = ""

    @property
    def value(self) -> float:
        """For a hyper-parameter token: the setting's value."""
        raise AttributeError(f"{self.token} sets no training setting")

    def __str__(self) -> str:
        values = ",".join(str(getattr(self, f.name)) for f in fields(self))
        return f"{self.token}({values})"

    def output_size(self, size: int) -> int:
        """Side of the (square) feature map after this layer, given the side before it."""
        return size


#: Grammar token -> layer class; every notation adds its tokens with :func:`register_layer`.
LAYER_TYPES: dict[str, type[Layer]] = {}


def register_layer(cls: type[Layer]) -> type[Layer]:
    """Make ``cls`` parseable by its ``token`` (usable as a class decorator)."""
    if not cls.token or LAYER_TYPES.get(cls.token, cls) is not cls:
        raise ValueError(f"layer token {cls.token!r} is empty or taken")
    LAYER_TYPES[cls.token] = cls
    return cls


@dataclass(frozen=True)
class Architecture:
    """An ordered, hashable tuple of layers; the last one is terminal."""

    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("an architecture needs at least one layer")
        for layer in self.layers[:-1]:
            if layer.terminal:
                raise ValueError(f"terminal layer {layer} must be the last layer")
        if not self.layers[-1].terminal:
            raise ValueError(f"the last layer must be GAP(n) or SM(n), not {self.layers[-1]}")

    @property
    def family(self) -> str:
        """The family of its first non-chain layer, else ``"chain"``."""
        return next((la.family for la in self.layers if la.family != "chain"), "chain")

    @property
    def network(self) -> Architecture:
        """The architecture without its hyper-parameter tokens: what is built."""
        if not any(layer.hyper for layer in self.layers):
            return self
        return Architecture(tuple(layer for layer in self.layers if not layer.hyper))

    @property
    def settings(self) -> dict[str, float]:
        """The training settings its hyper-parameter tokens set, e.g. ``{"batch_size": 64}``."""
        return {layer.setting: layer.value for layer in self.layers if layer.hyper}

    @property
    def num_classes(self) -> int:
        classes = getattr(self.layers[-1], "classes", None)  # every terminal layer has one
        assert isinstance(classes, int)  # guaranteed by __post_init__ and the grammar
        return classes

    def __str__(self) -> str:
        return "[" + ", ".join(str(layer) for layer in self.layers) + "]"

    def __len__(self) -> int:
        return len(self.layers)

    @classmethod
    def parse(cls, text: str) -> Architecture:
        return parse(text)


_TOKEN = re.compile(r"[A-Za-z]+")
_INT = re.compile(r"[0-9]{1,12}")
#: The largest number a layer takes (filters, units, classes, tokens): far beyond any
#: network a search builds, and small enough that every layer can be counted and built.
MAX_VALUE = 1_000_000


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, expected: str) -> ArchitectureSyntaxError:
        return ArchitectureSyntaxError(self.text, self.pos, expected)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip_space()
        if not self.text.startswith(char, self.pos):
            raise self.fail(repr(char))
        self.pos += 1

    def peek(self, char: str) -> bool:
        self.skip_space()
        return self.text.startswith(char, self.pos)

    def match(self, pattern: re.Pattern[str], expected: str) -> str:
        self.skip_space()
        m = pattern.match(self.text, self.pos)
        if not m:
            raise self.fail(expected)
        self.pos = m.end()
        return m.group()

    def layer(self) -> Layer:
        self.skip_space()
        start = self.pos
        name = self.match(_TOKEN, "a layer name (" + ", ".join(LAYER_TYPES) + ")")
        cls = LAYER_TYPES.get(name)
        if cls is None:
            self.pos = start
            raise self.fail("a layer name (" + ", ".join(LAYER_TYPES) + ")")
        names = [f.name for f in fields(cls)]
        arity = len(names)
        self.expect("(")
        values = []
        for i, field_name in enumerate(names):
            if i:
                self.expect(",")
            kind = "a non-negative" if field_name in cls.zero_ok else "a positive"
            expected = f"{kind} integer up to {MAX_VALUE:,} (argument {i + 1} of {name})"
            value_pos = self.pos
            value = int(self.match(_INT, expected))
            if not (0 if field_name in cls.zero_ok else 1) <= value <= MAX_VALUE:
                self.pos = value_pos
                self.skip_space()
                raise self.fail(expected)
            values.append(value)
        if self.peek(","):
            raise self.fail(f"')' ({name} takes {arity} argument{'s' * (arity > 1)})")
        self.expect(")")
        return cls(*values)

    def architecture(self) -> Architecture:
        self.expect("[")
        starts = [self._next_start()]
        layers = [self.layer()]
        while self.peek(","):
            self.pos += 1
            starts.append(self._next_start())
            layers.append(self.layer())
        self.expect("]")
        self.skip_space()
        if self.pos != len(self.text):
            raise self.fail("end of text after ']'")
        for index, layer in enumerate(layers):
            last = index == len(layers) - 1
            if layer.terminal != last:
                expected = (
                    "a terminal layer GAP(n) or SM(n) last"
                    if last
                    else "a layer that is not terminal"
                )
                raise ArchitectureSyntaxError(self.text, starts[index], expected)
        return Architecture(tuple(layers))

    def _next_start(self) -> int:
        self.skip_space()
        return self.pos


def parse(text: str) -> Architecture:
    """Parse the string form of an architecture of any registered notation, e.g.
    ``[C(32,3,1), P(2,2), FC(128), SM(10)]``.

    Raises :class:`ArchitectureSyntaxError` naming the position and what was expected.

    >>> import rlnas.arch  # registers every notation
    >>> parse("[C(8,3,1), GAP(10)]").layers[-1]
    GAP(classes=10)
    >>> parse("[C(8,3), SM(10)]")
    Traceback (most recent call last):
    ...
    rlnas.arch.grammar.ArchitectureSyntaxError: invalid architecture at position 6: ...
    """
    return _Parser(text).architecture()
