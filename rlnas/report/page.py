"""The report page: one self-contained HTML file (inline CSS, SVG and a few lines of script;
nothing is fetched), and PNG copies of its plots."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path

from rlnas.config import ConfigError
from rlnas.nn.options import BuildOptions
from rlnas.report.charts import Chart, build_charts
from rlnas.report.data import RunData, load_run
from rlnas.report.drawing import describe, draw_svg
from rlnas.report.svg import format_tick, render_svg
from rlnas.results import no_collection
from rlnas.runs import Row, ranking

__all__ = ["ReportFiles", "render_page", "write_report"]

#: Seconds between automatic reloads of a page written while the search runs.
RELOAD_SECONDS = 30

SECTIONS = (
    ("progress", "Progress"),
    ("search", "What the strategy did"),
    ("costs", "Accuracy against cost"),
    ("controller", "Controller diagnostics"),
    ("curves", "Learning curves"),
)

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#202124;
background:#fff}
header{padding:18px 28px;background:#f1f3f4;border-bottom:1px solid #dadce0}
h1{font-size:20px;margin:0 0 6px}h2{font-size:17px;margin:28px 0 8px}
main{padding:0 28px 40px}.meta{color:#5f6368}.live{color:#b06000;font-weight:600}
.stats{display:flex;flex-wrap:wrap;gap:8px 28px;margin-top:10px}.stats b{font-size:16px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:18px}
figure{margin:0;border:1px solid #dadce0;border-radius:6px;padding:6px}
.charts figure:last-child:nth-child(odd){grid-column:1/-1}
figcaption{color:#5f6368;font-size:12px;padding:0 6px 4px}
svg.plot{width:100%;height:auto;display:block}
svg text{font-family:system-ui,sans-serif}.title{font-size:13px;font-weight:600}
.label{font-size:12px;fill:#3c4043}.tick{font-size:11px;fill:#5f6368}
.legend{font-size:11px;fill:#3c4043}.empty{font-size:14px;fill:#9aa0a6}
.frame{fill:none;stroke:#bdc1c6}.grid{stroke:#eceff1}
.pt:hover,.pt.hl{stroke:#000;stroke-width:2}.pt.hl{r:6px}
path.hl{stroke-width:4;opacity:1}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid #eceff1;text-align:right;white-space:nowrap}
th{cursor:pointer;background:#f8f9fa;position:sticky;top:0;user-select:none}
th[data-order=asc]::after{content:" ▲"}th[data-order=desc]::after{content:" ▼"}
td.arch,th.arch{text-align:left;white-space:normal;font-family:ui-monospace,monospace}
tr[data-trial]{cursor:pointer}tr.hl td{background:#fff3c4}
.drawing{margin:10px 0 22px;overflow-x:auto}.drawing h3{font-size:14px;margin:0 0 6px}
svg.arch text.lt{font-size:12px;font-weight:600}svg.arch text.ld{font-size:11px;fill:#3c4043}
svg.arch text.ls{font-size:11px;fill:#1a73e8}
"""

# Sort the table by a clicked column; click a row to highlight that trial in every plot.
SCRIPT = """
(function () {
  function key(cell) {
    var v = cell.getAttribute("data-v");
    var n = parseFloat(v);
    return v === null || v === "" ? -Infinity : (isNaN(n) ? v : n);
  }
  document.querySelectorAll("table.sortable th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var table = th.closest("table"), body = table.tBodies[0];
      var asc = th.getAttribute("data-order") !== "asc";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("data-order"); });
      th.setAttribute("data-order", asc ? "asc" : "desc");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a.cells[col]), y = key(b.cells[col]);
        var c = (typeof x === "number" && typeof y === "number")
          ? x - y : String(x).localeCompare(String(y));
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  document.querySelectorAll("tr[data-trial]").forEach(function (tr) {
    tr.addEventListener("click", function () {
      var on = !tr.classList.contains("hl");
      document.querySelectorAll(".hl").forEach(function (e) { e.classList.remove("hl"); });
      if (!on) { return; }
      tr.classList.add("hl");
      var id = tr.getAttribute("data-trial");
      document.querySelectorAll('svg [data-trial="' + id + '"]').forEach(function (e) {
        e.classList.add("hl");
      });
    });
  });
})();
"""


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote."""

    html: Path
    pngs: tuple[Path, ...]


def write_report(
    run_dir: str | Path, *, png: bool = True, live: bool = False, top: int = 25, draw: int = 5
) -> ReportFiles:
    """Write ``RUN/report.html`` (and, with ``png``, ``RUN/plots/<chart>.png``).

    ``live`` marks a report written while the search runs: the page says so and reloads
    itself every :data:`RELOAD_SECONDS`. ``top`` rows of the leaderboard go in the table,
    ``draw`` of the best architectures are drawn. The HTML is replaced atomically, so a
    browser never reads half a file.
    """
    with no_collection():  # many records, no garbage: see rlnas.results.no_collection
        run = load_run(run_dir)
        charts = build_charts(run)
        html = render_page(run, charts, live=live, top=top, draw=draw)
    target = run.run_dir / "report.html"
    write_page(target, html, fix="the run directory is not writable")
    pngs: tuple[Path, ...] = ()
    if png:
        from rlnas.report.png import render_png

        pngs = tuple(render_png(c, run.run_dir / "plots" / f"{c.key}.png") for c in charts)
    return ReportFiles(target, pngs)


def write_page(target: Path, html: str, *, fix: str) -> None:
    """Replace ``target`` by ``html`` atomically, so a browser never reads half a file;
    a :class:`ConfigError` ending in ``fix`` when it cannot be written."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        partial.write_text(html, encoding="utf-8")
        os.replace(partial, target)
    except OSError as error:
        raise ConfigError(f"cannot write {target} ({error.strerror}); {fix}") from None
    finally:
        partial.unlink(missing_ok=True)  # only left over when writing failed


def render_page(
    run: RunData, charts: list[Chart], *, live: bool = False, top: int = 25, draw: int = 5
) -> str:
    """The whole page as a string."""
    # Failures rank last: the best successes (to draw) are within the first rows.
    rows = ranking(run.trials, run.finals, limit=top + draw + len(run.finals))
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
    ]
    if live:
        parts.append(f'<meta http-equiv="refresh" content="{RELOAD_SECONDS}">')
    parts += [
        f"<title>rlnas report: {escape(run.name)}</title>",
        f"<style>{CSS}</style></head><body>",
        _header(run, rows, live),
        "<main>",
    ]
    for section, heading in SECTIONS:
        members = [c for c in charts if c.section == section]
        parts.append(f'<section id="{section}"><h2>{heading}</h2>')
        if not members:
            parts.append('<p class="meta">This strategy reports no controller diagnostics.</p>')
        parts.append('<div class="charts">')
        for chart in members:
            caption = f"<figcaption>{escape(chart.note)}</figcaption>" if chart.note else ""
            parts.append(f'<figure class="chart" data-key="{chart.key}">{render_svg(chart)}')
            parts.append(f"{caption}</figure>")
        parts.append("</div></section>")
    parts.append(_table(run, rows[:top]))
    parts.append(_drawings(run, [r for r in rows if r.status == "ok"][:draw]))
    parts += ["</main>", f"<script>{SCRIPT}</script>", "</body></html>"]
    return "\n".join(parts)


def _header(run: RunData, rows: list[Row], live: bool) -> str:
    c = run.config
    trained = sum(t.new for t in run.trials)
    failed = sum(not t.result.ok for t in run.trials if t.new)
    best = next((r for r in rows if r.status == "ok"), None)
    final = min(run.finals, key=lambda f: f.rank, default=None)
    minutes = (run.trials[-1].created - run.start_time()) / 60 if run.trials else 0.0
    state = (
        f'<span class="live">search running: this page reloads every {RELOAD_SECONDS} s</span>'
        if live
        else f"written {time.strftime('%Y-%m-%d %H:%M:%S')}"
    )
    stats = [
        ("trials", f"{len(run.trials)}"),
        ("models trained", f"{trained} of {c.get('budget', '?')}"),
        ("failed", f"{failed}"),
        ("best validation accuracy", f"{best.val_acc:.4f}" if best else "-"),
        ("test accuracy of the best", f"{final.test_acc:.4f}" if final else "not yet"),
        ("search time", f"{minutes:.1f} min"),
    ]
    setting = ", ".join(
        f"{k} {escape(str(c.get(k) if c.get(k) is not None else 'default'))}"
        for k in ("strategy", "dataset", "space", "reward", "epochs", "seed")
        if k in c
    )
    best_arch = f"<div>best: <code>{escape(best.arch)}</code></div>" if best else ""
    return (
        f"<header><h1>rlnas report: {escape(run.name)}</h1>"
        f'<div class="meta">{setting}. {state}. PNG copies of the plots: plots/</div>'
        + '<div class="stats">'
        + "".join(f"<div>{k}<br><b>{v}</b></div>" for k, v in stats)
        + f"</div>{best_arch}</header>"
    )


def _table(run: RunData, rows: list[Row]) -> str:
    by_id = {t.id: t for t in run.trials}
    columns = ("rank", "trial", "architecture", "val acc", "test acc", "reward", "params",
               "FLOPs", "latency ms", "train s", "epochs", "status")  # fmt: skip
    head = "".join(
        f'<th class="arch">{c}</th>' if c == "architecture" else f"<th>{c}</th>" for c in columns
    )
    body = []
    for r in rows:
        t = by_id[r.trial]
        latency = t.result.latency_ms
        cells = [
            (r.rank, str(r.rank)), (r.trial, str(r.trial)), (r.arch, None),
            (r.val_acc, f"{r.val_acc:.4f}"),
            (r.test_acc, f"{r.test_acc:.4f}" if r.test_acc is not None else "-"),
            (r.reward, f"{r.reward:.4f}"), (r.params, f"{r.params:,}"),
            (r.flops, format_tick(r.flops)),
            (latency, f"{latency:.3f}" if latency is not None else "-"),
            (r.seconds, f"{r.seconds:.1f}"), (t.result.epochs, str(t.result.epochs)),
            (r.status, r.status),
        ]  # fmt: skip
        tds = "".join(
            f'<td class="arch" data-v="{escape(r.arch)}">{escape(r.arch)}</td>'
            if shown is None
            else f'<td data-v="{"" if value is None else escape(str(value))}">{escape(shown)}</td>'
            for value, shown in cells
        )
        body.append(f'<tr data-trial="{r.trial}">{tds}</tr>')
    return (
        '<section id="top"><h2>Top architectures</h2>'
        '<p class="meta">Click a column to sort; click a row to highlight its trial in the '
        "plots. Test accuracy: the top architectures retrained on train+validation.</p>"
        f'<table class="sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></section>"
    )


def _drawings(run: RunData, rows: list[Row]) -> str:
    try:
        options = BuildOptions(**run.config.get("train_settings", {}).get("build", {}))
    except (TypeError, ValueError):  # the search itself reported these settings
        options = BuildOptions()
    parts = ['<section id="drawings"><h2>The best architectures, layer by layer</h2>']
    if not rows:
        parts.append('<p class="meta">No architecture has trained successfully yet.</p>')
    for r in rows:
        boxes = describe(r.arch, run.input_shape, options)
        test = f", test {r.test_acc:.4f}" if r.test_acc is not None else ""
        parts.append(
            f'<div class="drawing"><h3>#{r.rank} (trial {r.trial}): validation '
            f"{r.val_acc:.4f}{test}, {r.params:,} parameters</h3>"
            f"{draw_svg(boxes, label=r.arch, uid=str(r.rank))}</div>"
        )
    parts.append("</section>")
    return "\n".join(parts)
