"""Readable, standalone PyTorch source for a built network: one generator per family.

:func:`network_source` returns the text of a class ``Network(nn.Module)`` that uses only
``torch`` and reproduces a module that :func:`rlnas.nn.build` made: same sub-module names
(so the trained ``state_dict`` loads as it is), same layers, same outputs. A family whose
networks are trees of ``nn.Sequential`` containers over standard ``torch.nn`` layers (the
MetaQNN chain) needs nothing more; a family with its own ``forward`` (skips, branches)
registers a generator with :func:`register_source_generator`.

>>> from rlnas.arch import parse
>>> from rlnas.nn import build
>>> arch = parse("[C(8,3,1), P(2,2), SM(10)]")
>>> source = network_source(arch, build(arch, (1, 8, 8), 10))
>>> print(source[source.index("# P"):source.index("# SM")])
# P(2,2) -> (8, 4, 4)
        self.p2 = _block(
            pool=nn.MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=True),
            dropout=nn.Dropout(p=0.5, inplace=False),
        )
<BLANKLINE>
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import torch
from torch import nn

from rlnas.arch import Architecture

__all__ = [
    "SOURCE_GENERATORS",
    "SourceError",
    "leaf_expression",
    "network_source",
    "register_source_generator",
    "sequential_source",
]

#: ``generator(arch, module) -> source defining class Network(nn.Module)``; the source may
#: use ``torch``, ``nn`` (``torch.nn``) and ``OrderedDict``, which the file imports.
SourceGenerator = Callable[[Architecture, nn.Module], str]
#: Family name -> generator, for families that :func:`sequential_source` cannot write.
SOURCE_GENERATORS: dict[str, SourceGenerator] = {}

#: Layers whose ``repr`` is a call of their constructor that rebuilds them exactly; each
#: generated expression is also checked by rebuilding it (see :func:`leaf_expression`).
LEAF_TYPES: tuple[type[nn.Module], ...] = (
    nn.Conv1d, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.Linear,
    nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.ZeroPad2d,
    nn.Flatten, nn.Dropout, nn.Dropout2d, nn.Identity, nn.ReLU, nn.ReLU6, nn.LeakyReLU,
    nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Softmax,
)  # fmt: skip

_INDENT = "    "
_SAME_PAIR = re.compile(r"=\((-?\d+), \1\)")
_BLOCK_HELPER = '''def _block(**layers: nn.Module) -> nn.Sequential:
    """Named layers in order; the names are the keys of the trained state dict."""
    return nn.Sequential(OrderedDict(layers))
'''


class SourceError(ValueError):
    """No standalone source can be written for this network; the message says why."""


def register_source_generator(family: str, generator: SourceGenerator) -> None:
    """Make :func:`network_source` use ``generator`` for architectures of ``family``."""
    SOURCE_GENERATORS[family] = generator


def network_source(arch: Architecture, module: nn.Module) -> str:
    """Source of ``class Network(nn.Module)`` equivalent to ``module`` (built from ``arch``).

    Uses the generator registered for ``arch.family``, else :func:`sequential_source`.
    Raises :class:`SourceError` when neither applies.
    """
    generator = SOURCE_GENERATORS.get(arch.family)
    if generator is not None:
        return generator(arch, module)
    if not _is_plain_sequential(module):
        raise SourceError(
            f"cannot write standalone source for the {arch.family!r} family: it registered no "
            "source generator; export it as torchscript or onnx instead"
        )
    return sequential_source(module, input_shape=getattr(module, "input_shape", None))


def leaf_expression(module: nn.Module) -> str:
    """A constructor call (``nn.Conv2d(...)``) that rebuilds the layer ``module``.

    Raises :class:`SourceError` for layer types outside :data:`LEAF_TYPES` and for any
    expression that does not rebuild an identical layer (same ``repr``, same parameter
    and buffer shapes), so generated code never silently differs from the network.
    """
    if type(module) not in LEAF_TYPES:
        raise SourceError(
            f"cannot write source for layer {type(module).__name__}; standalone export knows "
            f"{', '.join(t.__name__ for t in LEAF_TYPES)}"
        )
    text = _SAME_PAIR.sub(r"=\1", f"nn.{module!r}")  # kernel_size=(3, 3) -> kernel_size=3
    try:
        rebuilt = eval(text, {"nn": nn})  # our own expression, checked right here
    except Exception as error:  # pragma: no cover - a torch version with another repr
        raise SourceError(f"{text} does not rebuild {type(module).__name__}: {error}") from None
    if repr(rebuilt) != repr(module) or _state_shapes(rebuilt) != _state_shapes(module):
        raise SourceError(f"{text} does not rebuild the layer {module!r} exactly")
    return text


def _state_shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}


def sequential_source(
    module: nn.Module, *, input_shape: Sequence[int] | None = None, class_name: str = "Network"
) -> str:
    """Source for a module that is an ``nn.Sequential`` of named children, each a leaf of
    :data:`LEAF_TYPES` or again such a sequential. With ``input_shape`` (C, H, W), each
    top-level child is annotated with its per-sample output shape.

    The top-level module's own ``forward`` is assumed to run the children in order (as
    :class:`rlnas.nn.Network`'s does). Raises :class:`SourceError` for other modules or
    children not named as identifiers.
    """
    if not isinstance(module, nn.Sequential):
        raise SourceError(f"cannot write source for {type(module).__name__}: not a sequence")
    children = list(module.named_children())
    for name, _ in children:
        if not name.isidentifier():
            raise SourceError(f"layer name {name!r} is not a Python identifier")
    shapes = _output_shapes(module, input_shape)
    lines = [
        _BLOCK_HELPER,
        "",
        f"class {class_name}(nn.Module):",
        f'{_INDENT}"""(B, C, H, W) images in, (B, classes) logits out."""',
        "",
        f"{_INDENT}def __init__(self) -> None:",
        f"{_INDENT * 2}super().__init__()",
    ]
    for name, child in children:
        note = " -> ".join(x for x in (_describe(child), _shape(shapes.get(name))) if x)
        if note:
            lines.append(f"{_INDENT * 2}# {note}")
        lines.append(f"{_INDENT * 2}self.{name} = {_expression(child, depth=2)}")
    shape_in = f"(B, {', '.join(map(str, input_shape))})" if input_shape else "x"
    lines += ["", f"{_INDENT}def forward(self, x: torch.Tensor) -> torch.Tensor:"]
    lines.append(f"{_INDENT * 2}# {shape_in} images -> (B, classes) logits")
    for name, _ in children:
        shape = shapes.get(name)
        comment = f"  # (B, {', '.join(map(str, shape))})" if shape else ""
        lines.append(f"{_INDENT * 2}x = self.{name}(x){comment}")
    lines.append(f"{_INDENT * 2}return x")
    return "\n".join(lines) + "\n"


def _expression(module: nn.Module, depth: int) -> str:
    """The constructor expression of ``module``, one layer per line at indent ``depth``."""
    if not _is_plain_sequential(module):
        return leaf_expression(module)
    pad = _INDENT * depth
    items = [
        f"{pad}{_INDENT}{name}={_expression(child, depth + 1)},"
        for name, child in module.named_children()
    ]
    return "_block(\n" + "\n".join(items) + f"\n{pad})"


def _is_plain_sequential(module: nn.Module) -> bool:
    """True for ``nn.Sequential`` and subclasses that keep its ``forward`` (rlnas' Block)."""
    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


def _shape(shape: tuple[int, ...] | None) -> str:
    return "" if shape is None else str(shape)


def _describe(module: nn.Module) -> str:
    spec = getattr(module, "spec", None)  # rlnas.nn.Block keeps its layer spec
    return str(spec) if spec is not None else ""


@torch.no_grad()
def _output_shapes(
    module: nn.Sequential, input_shape: Sequence[int] | None
) -> dict[str, tuple[int, ...]]:
    """Per-sample output shape of each top-level child, from one zero image (eval mode)."""
    if input_shape is None:
        return {}
    was_training = module.training
    module.eval()
    shapes: dict[str, tuple[int, ...]] = {}
    try:
        x = torch.zeros(1, *input_shape)
        for name, child in module.named_children():
            x = child(x)
            shapes[name] = tuple(x.shape[1:])
    finally:
        module.train(was_training)
    return shapes


def _chain_source(arch: Architecture, module: nn.Module) -> str:
    """MetaQNN's chain: :class:`rlnas.nn.Network` runs its blocks in order."""
    return sequential_source(module, input_shape=getattr(module, "input_shape", None))


register_source_generator("chain", _chain_source)
