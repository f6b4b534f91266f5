"""Architectures as pure data: one grammar, one token registry, and every notation.

Importing this package registers every notation with the one parser, so :func:`parse`
reads them all:

- :mod:`rlnas.arch.chain`, MetaQNN's layers: ``[C(32,3,1), P(2,2), FC(128), SM(10)]``;
- :mod:`rlnas.arch.blockqnn`, BlockQNN's Network Structure Code: ``[BC(32,3,1), BHEAD(0,10)]``;
- :mod:`rlnas.arch.enas`, ENAS's macro networks: ``[STEM(16), CONV(3,0), HEAD(10)]``;
- :mod:`rlnas.arch.rnn`, recurrent cells: ``[CELL(64,64), TANH(0), LM(86)]``.

:mod:`rlnas.arch.shapes` holds the shape, parameter and multiply-add arithmetic of chain
networks. Nothing here imports torch or the rest of rlnas.

>>> str(parse("[BC(32,3,1), BHEAD(0,10)]"))
'[BC(32,3,1), BHEAD(0,10)]'
"""

# MetaQNN's tokens first: the parser lists the tokens in the order they were registered.
# isort: off
from rlnas.arch.chain import FC, GAP, Conv, Pool, Softmax
from rlnas.arch import blockqnn, enas, rnn  # noqa: F401  (each registers its tokens)

# isort: on
from rlnas.arch.grammar import (
    LAYER_TYPES,
    Architecture,
    ArchitectureSyntaxError,
    Layer,
    parse,
    register_layer,
)

__all__ = [
    "FC",
    "GAP",
    "LAYER_TYPES",
    "Architecture",
    "ArchitectureSyntaxError",
    "Conv",
    "Layer",
    "Pool",
    "Softmax",
    "parse",
    "register_layer",
]
