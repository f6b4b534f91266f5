"""Networks from architectures: :func:`build` (PyTorch) and their shapes (pure arithmetic).

:mod:`rlnas.arch.shapes` and :mod:`rlnas.nn.options` themselves use no torch; importing
the package does, since it re-exports :func:`build`.
"""

from rlnas.arch.shapes import Shape, output_shapes
from rlnas.nn import blockqnn as _blockqnn  # noqa: F401  (registers the BlockQNN builder)
from rlnas.nn import enas as _enas  # noqa: F401  (registers the "enas" builder)
from rlnas.nn import rnn as _rnn  # noqa: F401  (registers the "rnn" builder)
from rlnas.nn.build import Block, Network, build
from rlnas.nn.options import BuildOptions
from rlnas.nn.supernet import make_supernet

__all__ = ["Block", "BuildOptions", "Network", "Shape", "build", "make_supernet", "output_shapes"]
