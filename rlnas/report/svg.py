"""Charts as inline SVG: no script and no network needed to show them; every point has a
hover text (``<title>``) and a ``data-trial`` attribute the page uses for highlighting.

Why hand-written SVG and not plotly: plotly inlined is ~3.5 MB per report, this is a few
kilobytes per chart, and hover text, highlighting and a sortable table cover what users
do with a search report. Axes, ticks (linear and log) and colour scales are the small
subset of a plotting library the report needs.
"""

from __future__ import annotations

import math
from html import escape

from rlnas.report.charts import Chart, Series

__all__ = ["color_scale", "format_tick", "nice_ticks", "render_svg"]

WIDTH, HEIGHT = 560, 340
#: Viridis at five stops: dark (low) to yellow (high), readable in grey and by the colour-blind.
VIRIDIS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")


def color_scale(fraction: float) -> str:
    """The viridis colour at ``fraction`` in [0, 1] (clamped), as ``#rrggbb``.

    >>> color_scale(0.0), color_scale(1.0)
    ('#440154', '#fde725')
    """
    f = min(max(fraction, 0.0), 1.0) * (len(VIRIDIS) - 1)
    i = min(int(f), len(VIRIDIS) - 2)
    a, b = VIRIDIS[i], VIRIDIS[i + 1]
    t = f - i
    rgb = (round(int(a[k : k + 2], 16) * (1 - t) + int(b[k : k + 2], 16) * t) for k in (1, 3, 5))
    return "#" + "".join(f"{c:02x}" for c in rgb)


def nice_ticks(lo: float, hi: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """About ``count`` round tick values (steps of 1, 2, 2.5 or 5 times a power of ten)
    within ``[lo, hi]``; ``integer``: whole numbers only (epochs, trials).

    >>> nice_ticks(0.12, 0.97)
    [0.2, 0.4, 0.6, 0.8]
    >>> nice_ticks(0, 60)
    [0, 20, 40, 60]
    >>> nice_ticks(0.9, 3.1), nice_ticks(0.9, 3.1, integer=True)
    ([1.0, 1.5, 2.0, 2.5, 3.0], [1, 2, 3])
    """
    span = hi - lo
    if not span > 0:
        return [lo]
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if integer:
        step = max(1, math.ceil(step))
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi + 1e-9 * span:
        ticks.append(round(k * step, 12))
        k += 1
    return ticks


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Ticks for a log10 axis over exponents ``[lo, hi]``: decades, else 1-2-5 steps."""
    for mantissas in ((1,), (1, 3), (1, 2, 5), tuple(range(1, 10))):
        ticks = [
            m * 10.0**e
            for e in range(math.floor(lo), math.ceil(hi) + 1)
            for m in mantissas
            if lo - 1e-9 <= math.log10(m * 10.0**e) <= hi + 1e-9
        ]
        if len(ticks) >= 3:
            return ticks
    return [10**lo, 10**hi]


def format_tick(value: float) -> str:
    """Short tick text: ``1.5k``, ``2M``, ``0.25``.

    >>> [format_tick(v) for v in (0.25, 10.0, 1500, 2e6)]
    ['0.25', '10', '1.5k', '2M']
    """
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.3g}M"
    if magnitude >= 1e3:
        return f"{value / 1e3:.3g}k"
    return f"{value:.4g}"


class _Axis:
    """Maps data values to pixels, linear or log10, with padding around the data."""

    def __init__(
        self, values: list[float], start: float, end: float, log: bool, integer: bool = False
    ) -> None:
        self.log, self.start, self.end, self.integer = log, start, end, integer
        data = [math.log10(v) for v in values if v > 0] if log else values
        lo, hi = (min(data), max(data)) if data else (0.0, 1.0)
        if hi - lo < 1e-12:
            lo, hi = lo - 0.5, hi + 0.5
        pad = (hi - lo) * 0.04
        self.lo, self.hi = lo - pad, hi + pad

    def __call__(self, value: float) -> float:
        v = math.log10(value) if self.log else value
        return self.start + (v - self.lo) / (self.hi - self.lo) * (self.end - self.start)

    def ticks(self) -> list[float]:
        if self.log:
            return _log_ticks(self.lo, self.hi)
        return nice_ticks(self.lo, self.hi, integer=self.integer)

    def usable(self, value: float) -> bool:
        return math.isfinite(value) and (value > 0 or not self.log)


def render_svg(chart: Chart) -> str:
    """The chart as one ``<svg>`` element (responsive width, fixed aspect ratio)."""
    right = WIDTH - (82 if chart.color_range else 16)
    left, top, bottom = 64, 48, HEIGHT - 46
    xs = [v for s in chart.series for v in s.x]
    ys = [v for s in chart.series for v in s.y if math.isfinite(v)]
    xa = _Axis([v for v in xs if math.isfinite(v)], left, right, chart.x_log, chart.x_integer)
    ya = _Axis(ys, bottom, top, False)
    out = [
        f'<svg class="plot" viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg" '
        f'role="img" aria-label="{escape(chart.title)}">',
        f'<text class="title" x="{left}" y="18">{escape(chart.title)}</text>',
        f'<rect class="frame" x="{left}" y="{top}" width="{right - left}" '
        f'height="{bottom - top}"/>',
    ]
    out += _grid(xa, ya, left, right, top, bottom)
    out.append(
        f'<text class="label" x="{(left + right) / 2:.1f}" y="{HEIGHT - 8}" '
        f'text-anchor="middle">{escape(chart.x_label)}</text>'
    )
    out.append(
        f'<text class="label" transform="translate(14 {(top + bottom) / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{escape(chart.y_label)}</text>'
    )
    if chart.empty:
        out.append(
            f'<text class="empty" x="{(left + right) / 2:.1f}" y="{(top + bottom) / 2:.1f}" '
            'text-anchor="middle">no data yet</text>'
        )
    for series in chart.series:
        out += _series(series, chart, xa, ya)
    out += _legend(chart, left, right)
    if chart.color_range:
        out += _colorbar(chart, right + 26, top, bottom)
    out.append("</svg>")
    return "\n".join(out)


def _grid(xa: _Axis, ya: _Axis, left: float, right: float, top: float, bottom: float) -> list[str]:
    out = []
    for tick in xa.ticks():
        x = xa(tick)
        if left - 0.5 <= x <= right + 0.5:
            out.append(f'<line class="grid" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}"/>')
            out.append(
                f'<text class="tick" x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">'
                f"{format_tick(tick)}</text>"
            )
    for tick in ya.ticks():
        y = ya(tick)
        if top - 0.5 <= y <= bottom + 0.5:
            out.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>')
            out.append(
                f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                f"{format_tick(tick)}</text>"
            )
    return out


def _series(series: Series, chart: Chart, xa: _Axis, ya: _Axis) -> list[str]:
    pairs = [
        (xa(x), ya(y), i)
        for i, (x, y) in enumerate(zip(series.x, series.y, strict=True))
        if xa.usable(x) and math.isfinite(y)
    ]
    if not pairs:
        return []
    style = f'stroke="{series.color}" stroke-width="{series.size}" opacity="{series.opacity}"'
    if series.kind in ("line", "step"):
        if series.kind == "line":
            d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y, _ in pairs)
        else:  # step after: hold each value until the next x
            d = f"M{pairs[0][0]:.1f},{pairs[0][1]:.1f}" + "".join(
                f" H{x:.1f} V{y:.1f}" for x, y, _ in pairs[1:]
            )
        title = series.labels[0] if series.labels else series.name
        trial = f' data-trial="{series.ids[0]}"' if series.ids and len(series.ids) == 1 else ""
        return [
            f'<path class="{series.kind}"{trial} d="{d}" fill="none" {style}>'
            f"<title>{escape(title)}</title></path>"
        ]
    out = []
    lo, hi = chart.color_range or (0.0, 1.0)
    for x, y, i in pairs:
        color = series.color
        if series.values is not None:
            color = color_scale((series.values[i] - lo) / (hi - lo) if hi > lo else 1.0)
        paint = (
            f'fill="none" stroke="{color}" stroke-width="1.4"'
            if series.hollow
            else f'fill="{color}"'
        )
        trial = f' data-trial="{series.ids[i]}"' if series.ids else ""
        title = f"<title>{escape(series.labels[i])}</title>" if series.labels else ""
        out.append(
            f'<circle class="pt"{trial} cx="{x:.1f}" cy="{y:.1f}" r="{series.size}" {paint} '
            f'opacity="{series.opacity}">{title}</circle>'
        )
    return out


def _legend(chart: Chart, left: float, right: float) -> list[str]:
    entries = [s for s in chart.series if s.legend and s.x]
    out, x = [], float(left)
    for s in entries:
        color = color_scale(0.5) if s.values is not None else s.color
        if s.kind == "points":
            mark = (
                f'<circle cx="{x + 5:.1f}" cy="32" r="4" '
                + (f'fill="none" stroke="{color}"' if s.hollow else f'fill="{color}"')
                + "/>"
            )
        else:
            mark = (
                f'<line x1="{x:.1f}" y1="32" x2="{x + 14:.1f}" y2="32" stroke="{color}" '
                'stroke-width="2.5"/>'
            )
        width = 24 + 6.2 * len(s.name)
        if x + width > right:
            break
        out.append(mark)
        out.append(f'<text class="legend" x="{x + 18:.1f}" y="36">{escape(s.name)}</text>')
        x += width
    return out


def _colorbar(chart: Chart, x: float, top: float, bottom: float) -> list[str]:
    assert chart.color_range is not None  # callers check
    lo, hi = chart.color_range
    gid = f"cb-{chart.key}"
    stops = "".join(
        f'<stop offset="{i / (len(VIRIDIS) - 1):.2f}" stop-color="{c}"/>'
        for i, c in enumerate(reversed(VIRIDIS))
    )
    return [
        f'<defs><linearGradient id="{gid}" x1="0" y1="0" x2="0" y2="1">{stops}'
        "</linearGradient></defs>",
        f'<rect x="{x}" y="{top}" width="12" height="{bottom - top}" fill="url(#{gid})"/>',
        f'<text class="tick" x="{x + 16}" y="{top + 8}">{format_tick(hi)}</text>',
        f'<text class="tick" x="{x + 16}" y="{bottom}">{format_tick(lo)}</text>',
        f'<text class="label" transform="translate({x + 30} {(top + bottom) / 2:.1f}) rotate(90)" '
        f'text-anchor="middle">{escape(chart.color_label or "")}</text>',
    ]
