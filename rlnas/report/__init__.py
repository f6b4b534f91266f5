"""The HTML report of a run: progress, what the strategy did, accuracy against cost,
controller diagnostics, learning curves, the top architectures as a table and as drawings.

``write_report(run_dir)`` writes ``RUN/report.html`` and ``RUN/plots/*.png``;
``ReportMonitor`` keeps them current during a search (``rlnas search`` uses it).
"""

from rlnas.report.charts import Chart, Series, build_charts
from rlnas.report.data import RunData, load_run, pareto_front, running_best
from rlnas.report.drawing import LayerBox, describe, draw_svg, register_describer
from rlnas.report.monitor import ReportMonitor
from rlnas.report.page import ReportFiles, render_page, write_report

__all__ = [
    "Chart",
    "LayerBox",
    "ReportFiles",
    "ReportMonitor",
    "RunData",
    "Series",
    "build_charts",
    "describe",
    "draw_svg",
    "load_run",
    "pareto_front",
    "register_describer",
    "render_page",
    "running_best",
    "write_report",
]
