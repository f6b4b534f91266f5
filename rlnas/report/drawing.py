"""Drawings of architectures: one box per layer with its output shape, as inline SVG.

How the layers are found depends on the family, and degrades gracefully:

1. a describer registered for the family (``chain``: MetaQNN's layers, with shapes from
   :func:`rlnas.arch.shapes.output_shapes`, no torch needed);
2. else the built network: one box per top-level module, with the shape a zero image
   takes through it (families with skips or branches get their blocks drawn in order);
3. else one box per layer of the architecture string, without shapes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from rlnas.arch import FC, GAP, Architecture, Conv, Layer, Pool, Softmax, parse
from rlnas.arch.shapes import Shape, output_shapes
from rlnas.nn.options import BuildOptions

__all__ = ["DESCRIBERS", "LayerBox", "describe", "draw_svg", "register_describer"]


@dataclass(frozen=True)
class LayerBox:
    """One box: what the layer is, its grammar token, and its per-image output shape."""

    title: str
    detail: str
    shape: str
    #: Colour group: input, conv, pool, dense, head or other.
    kind: str = "other"


InputShape = tuple[int, int, int]
#: ``describer(arch, input_shape or None, build options) -> boxes`` (the input box excluded).
Describer = Callable[[Architecture, InputShape | None, BuildOptions], list[LayerBox]]
DESCRIBERS: dict[str, Describer] = {}

COLORS = {
    "input": "#e8eaed",
    "conv": "#cfe2f3",
    "pool": "#fde9c8",
    "dense": "#d9ead3",
    "head": "#f4cccc",
    "other": "#e6def5",
}


def register_describer(family: str, describer: Describer) -> None:
    """Draw architectures of ``family`` with ``describer``."""
    DESCRIBERS[family] = describer


def format_shape(shape: Shape) -> str:
    """``(32, 8, 8)`` -> ``32×8×8``."""
    return "×".join(str(d) for d in shape)


def describe(
    arch_text: str, input_shape: InputShape | None, options: BuildOptions | None = None
) -> list[LayerBox]:
    """The boxes of an architecture, input first; never raises (see the module docstring)."""
    options = options or BuildOptions()
    head = [LayerBox("input", "", format_shape(input_shape) if input_shape else "", "input")]
    try:
        arch = parse(arch_text)
    except ValueError:
        return [*head, LayerBox(arch_text, "(not parseable here)", "", "other")]
    describer = DESCRIBERS.get(arch.family)
    for attempt in (describer, _from_module if input_shape else None):
        if attempt is None:
            continue
        try:
            return head + attempt(arch, input_shape, options)
        except Exception:  # a drawing must never break the report: try the next way
            continue
    return head + [LayerBox(str(layer), "", "", _kind(layer)) for layer in arch.layers]


def _kind(layer: Layer) -> str:
    if isinstance(layer, Conv):
        return "conv"
    if isinstance(layer, Pool):
        return "pool"
    if isinstance(layer, FC):
        return "dense"
    return "head" if layer.terminal else "other"


def _title(layer: Layer) -> str:
    if isinstance(layer, Conv):
        return f"conv {layer.kernel}×{layer.kernel}, {layer.filters}"
    if isinstance(layer, Pool):
        return f"max pool {layer.size}×{layer.size}"
    if isinstance(layer, FC):
        return f"dense {layer.units}"
    if isinstance(layer, GAP):
        return f"1×1 conv+GAP → {layer.classes}"
    if isinstance(layer, Softmax):
        return f"linear → {layer.classes}"
    return str(layer)


def _chain(
    arch: Architecture, input_shape: InputShape | None, options: BuildOptions
) -> list[LayerBox]:
    arch = arch.network
    shapes = output_shapes(arch, input_shape) if input_shape else [None] * len(arch.layers)
    boxes = []
    for layer, shape in zip(arch.layers, shapes, strict=True):
        stride = getattr(layer, "stride", None)
        detail = str(layer) + (f" /{stride}" if stride and stride > 1 else "")
        boxes.append(
            LayerBox(_title(layer), detail, format_shape(shape) if shape else "", _kind(layer))
        )
    return boxes


def _from_module(
    arch: Architecture, input_shape: InputShape | None, options: BuildOptions
) -> list[LayerBox]:
    """One box per top-level module of the built network, shapes from a zero image."""
    import torch

    from rlnas.nn import build

    if input_shape is None:
        raise ValueError("the built network needs the input shape")
    module = build(arch, input_shape, arch.num_classes, options).eval()
    boxes = []
    with torch.no_grad():
        x = torch.zeros(1, *input_shape)
        shapes: dict[str, tuple[int, ...]] = {}
        hooks = [
            child.register_forward_hook(
                lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape[1:]))
            )
            for name, child in module.named_children()
        ]
        try:
            module(x)
        finally:
            for hook in hooks:
                hook.remove()
    for name, child in module.named_children():
        spec = getattr(child, "spec", None)
        title = str(spec) if spec is not None else type(child).__name__
        shape = shapes.get(name)
        boxes.append(LayerBox(title, name, format_shape(shape) if shape else "", "other"))
    if not boxes:
        raise ValueError("the network has no sub-modules to draw")
    return boxes


register_describer("chain", _chain)

BOX_W, BOX_H, GAP_X, GAP_Y, PER_ROW = 124, 58, 26, 30, 6


def draw_svg(boxes: list[LayerBox], *, label: str = "", uid: str = "a") -> str:
    """Boxes left to right, wrapping after :data:`PER_ROW`, joined by arrows. ``uid`` keeps
    the arrow marker's id unique among several drawings on one page."""
    rows = -(-len(boxes) // PER_ROW)
    width = min(len(boxes), PER_ROW) * (BOX_W + GAP_X) - GAP_X + 8
    height = rows * (BOX_H + GAP_Y) - GAP_Y + 8
    out = [
        f'<svg class="arch" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}">',
        f'<defs><marker id="arrow-{uid}" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#5f6368"/>'
        "</marker></defs>",
    ]
    centers = []
    for i, box in enumerate(boxes):
        x = 4 + (i % PER_ROW) * (BOX_W + GAP_X)
        y = 4 + (i // PER_ROW) * (BOX_H + GAP_Y)
        centers.append((x, y))
        out.append(
            f'<g class="layer"><title>{escape(box.detail or box.title)}</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" '
            f'fill="{COLORS.get(box.kind, COLORS["other"])}" stroke="#5f6368"/>'
            f'<text x="{x + BOX_W / 2}" y="{y + 18}" text-anchor="middle" class="lt">'
            f"{escape(_clip(box.title))}</text>"
            f'<text x="{x + BOX_W / 2}" y="{y + 34}" text-anchor="middle" class="ld">'
            f"{escape(_clip(box.detail))}</text>"
            f'<text x="{x + BOX_W / 2}" y="{y + 50}" text-anchor="middle" class="ls">'
            f"{escape(box.shape)}</text></g>"
        )
    for (x0, y0), (x1, y1) in itertools.pairwise(centers):
        if y0 == y1:
            path = f"M{x0 + BOX_W},{y0 + BOX_H / 2} L{x1 - 2},{y1 + BOX_H / 2}"
        else:  # wrap: down from the row's last box, back left, into the next row's first
            mid = y0 + BOX_H + GAP_Y / 2
            path = f"M{x0 + BOX_W / 2},{y0 + BOX_H} V{mid} H{x1 + BOX_W / 2} V{y1 - 2}"
        out.append(
            f'<path d="{path}" fill="none" stroke="#5f6368" marker-end="url(#arrow-{uid})"/>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _clip(text: str, limit: int = 18) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
