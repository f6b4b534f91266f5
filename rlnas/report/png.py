"""PNG copies of the charts, drawn with matplotlib from the same :class:`Chart` specs as
the page's SVG (no pyplot: no global state, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlnas.report.charts import Chart, Series

__all__ = ["render_png"]


def render_png(chart: Chart, path: str | Path, *, dpi: int = 110) -> Path:
    """Draw ``chart`` to the PNG file ``path`` and return the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.0, 4.25), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    norm = Normalize(*chart.color_range) if chart.color_range else None
    mappable = None
    for s in chart.series:
        if s.x:
            mappable = _draw(ax, s, norm) or mappable
    if chart.x_log:
        ax.set_xscale("log")
    if chart.x_integer:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(chart.title, fontsize=10, loc="left")
    ax.set_xlabel(chart.x_label)
    ax.set_ylabel(chart.y_label)
    ax.grid(True, color="#e5e5e5", linewidth=0.8)
    if chart.empty:
        ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes)
    if any(s.legend and s.x for s in chart.series):
        ax.legend(fontsize=8, loc="best")
    if mappable is not None:
        figure.colorbar(mappable, ax=ax, label=chart.color_label)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def _draw(ax: Any, s: Series, norm: Any) -> Any:
    """Draw one series on ``ax``; the scatter to key a colour bar to, if it is one."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    label = s.name if s.legend else None
    area = (s.size * 2) ** 2
    if s.kind == "line":
        ax.plot(s.x, s.y, color=s.color, linewidth=s.size, alpha=s.opacity, label=label)
    elif s.kind == "step":
        ax.step(s.x, s.y, where="post", color=s.color, linewidth=s.size, label=label)
    elif s.values is not None and norm is not None and s.hollow:  # rings in scale colours
        rings = [to_hex(colormaps["viridis"](float(norm(v)))) for v in s.values]
        ax.scatter(s.x, s.y, s=area, facecolors="none", edgecolors=rings, alpha=s.opacity,
                   label=label)  # fmt: skip
    elif s.values is not None and norm is not None:
        return ax.scatter(s.x, s.y, c=s.values, cmap="viridis", norm=norm, s=area,
                          alpha=s.opacity, label=label)  # fmt: skip
    else:
        face = "none" if s.hollow else s.color
        ax.scatter(s.x, s.y, s=area, facecolors=face, edgecolors=s.color, alpha=s.opacity,
                   label=label)  # fmt: skip
    return None
