"""Networks from architectures: :func:`build` (PyTorch) and their shapes (pure arithmetic).

:mod:`rlnas.nn.shapes` and :mod:`rlnas.nn.options` themselves use no torch; importing
the package does, since it re-exports :func:`build`.
"""

from rlnas.nn import blockqnn as _blockqnn  # noqa: F401  (registers the BlockQNN builder)
from rlnas.nn.build import Block, Network, build
from rlnas.nn.options import BuildOptions
from rlnas.nn.shapes import Shape, output_shapes

__all__ = ["Block", "BuildOptions", "Network", "Shape", "build", "output_shapes"]
