"""The SVG charts: ticks, colour scale, one mark per point with its hover text."""

import itertools
import math
import re

from hypothesis import given
from hypothesis import strategies as st

from rlnas.report.charts import Chart, Series
from rlnas.report.svg import color_scale, nice_ticks, render_svg


@given(st.floats(-1e6, 1e6), st.floats(1e-3, 1e6))
def test_nice_ticks_are_round_inside_and_a_handful(lo, span):
    hi = lo + span
    ticks = nice_ticks(lo, hi)
    assert 2 <= len(ticks) <= 11
    assert all(lo - 1e-9 * span <= t <= hi + 1e-9 * span for t in ticks)
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert len(steps) == 1 or max(steps) - min(steps) < 1e-6 * step
    assert any(abs(mantissa - m) < 1e-6 for m in (1, 2, 2.5, 5, 10))


def test_color_scale_runs_dark_to_light():
    lightness = [
        sum(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in map(color_scale, (0, 0.5, 1))
    ]
    assert lightness == sorted(lightness) and color_scale(-3) == color_scale(0)


def chart(series, **kw):
    return Chart("k", "A <title> & more", "x", "y", tuple(series), "progress", **kw)


def test_each_point_is_a_circle_with_its_hover_text_and_trial():
    points = Series("p", (1.0, 2.0, 3.0), (0.5, 0.7, 0.6), labels=("a", "b", "c<"), ids=(4, 5, 6))
    svg = render_svg(chart([points]))
    assert svg.count('<circle class="pt"') == 3
    assert re.findall(r'data-trial="(\d+)"', svg) == ["4", "5", "6"]
    assert "<title>c&lt;</title>" in svg and "A &lt;title&gt; &amp; more" in svg
    assert "no data yet" not in svg


def test_log_axis_drops_points_it_cannot_place_and_colours_follow_values():
    points = Series("p", (0.0, 10.0, 1000.0), (0.1, 0.2, 0.3), values=(0.0, 0.5, 1.0))
    svg = render_svg(chart([points], x_log=True, color_range=(0.0, 1.0), color_label="eps"))
    assert svg.count('<circle class="pt"') == 2  # x = 0 has no place on a log axis
    assert color_scale(0.5) in svg and color_scale(1.0) in svg
    assert ">1k<" in svg and "linearGradient" in svg


def test_an_empty_chart_says_so():
    assert "no data yet" in render_svg(chart([Series("p", (), ())]))
