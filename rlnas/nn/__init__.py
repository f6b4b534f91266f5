"""Networks from architectures: :func:`build` (PyTorch) and their shapes (pure arithmetic).

:mod:`rlnas.arch.shapes` and :mod:`rlnas.nn.options` use no torch, and neither does
importing the package: the builders (and torch) load when :func:`build`, :class:`Network`,
:class:`Block` or :func:`make_supernet` is first asked for, with every family's builder
registered.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rlnas.arch.shapes import Shape, output_shapes
from rlnas.nn.options import BuildOptions

if TYPE_CHECKING:
    from rlnas.nn.builder import Block, Network, build
    from rlnas.nn.supernet import make_supernet

__all__ = ["Block", "BuildOptions", "Network", "Shape", "build", "make_supernet", "output_shapes"]

#: The torch half: name -> defining module (PEP 562).
_LAZY = {
    "Block": "rlnas.nn.builder",
    "Network": "rlnas.nn.builder",
    "build": "rlnas.nn.builder",
    "make_supernet": "rlnas.nn.supernet",
}
#: Modules that register a family's builder with :func:`build`.
_BUILDERS = ("rlnas.nn.blockqnn", "rlnas.nn.enas", "rlnas.nn.rnn")


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rlnas.nn' has no attribute {name!r}")
    for builder in _BUILDERS:
        importlib.import_module(builder)
    return getattr(importlib.import_module(module), name)
