"""Several runs on one page (``rlnas report RUN1 RUN2 ...``): their best validation accuracy
so far by time and by models trained on shared axes, accuracy against parameters, and a
table of what each run found. Self-contained like a run's report."""

from __future__ import annotations

from html import escape
from pathlib import Path

from rlnas.report.charts import PALETTE, Chart, Series
from rlnas.report.data import RunData, load_run, running_best
from rlnas.report.page import CSS, write_page
from rlnas.report.svg import render_svg
from rlnas.runs import leaderboard

__all__ = ["comparison_charts", "write_comparison"]


def _name(run: RunData, index: int) -> str:
    c = run.config
    return f"{index + 1}. {c.get('strategy', '?')} on {c.get('dataset', '?')} ({run.name})"


def comparison_charts(runs: list[RunData]) -> list[Chart]:
    """Best so far by minutes and by models trained (one line per run), and validation
    accuracy against parameters (one colour per run)."""
    by_time, by_models, costs = [], [], []
    for i, run in enumerate(runs):
        color, name = PALETTE[i % len(PALETTE)], _name(run, i)
        trained = [t for t in run.trials if t.new]
        best = tuple(running_best([t.result.val_acc for t in trained]))
        minutes = tuple((t.created - run.start_time()) / 60 for t in trained)
        by_time.append(Series(name, minutes, best, kind="step", color=color, size=2))
        count = tuple(float(n) for n in range(1, len(trained) + 1))
        by_models.append(Series(name, count, best, kind="step", color=color, size=2))
        ok = [t for t in leaderboard(run.trials) if t.result.ok and t.result.params > 0]
        costs.append(Series(
            name, tuple(float(t.result.params) for t in ok), tuple(t.result.val_acc for t in ok),
            color=color, size=2.6, opacity=0.7, labels=tuple(f"{name}: {t.arch}" for t in ok),
            ids=tuple(t.id for t in ok),
        ))  # fmt: skip
    return [
        Chart("best_by_time", "Best validation accuracy so far, by time", "minutes",
              "validation accuracy", tuple(by_time), "progress"),
        Chart("best_by_models", "Best validation accuracy so far, by models trained",
              "models trained", "validation accuracy", tuple(by_models), "progress",
              x_integer=True),
        Chart("accuracy_vs_params", "Validation accuracy against parameters", "parameters",
              "validation accuracy", tuple(costs), "costs", x_log=True),
    ]  # fmt: skip


def _table(runs: list[RunData]) -> str:
    head = ("run", "strategy", "dataset", "space", "trials", "models", "best val",
            "final test", "best architecture")  # fmt: skip
    rows = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for i, run in enumerate(runs):
        c, best = run.config, next((t for t in leaderboard(run.trials) if t.result.ok), None)
        final = min(run.finals, key=lambda f: f.rank, default=None)
        cells = (
            f"{i + 1}. {run.name}", c.get("strategy"), c.get("dataset"),
            c.get("space") or "default",
            len(run.trials), sum(t.new for t in run.trials),
            f"{best.result.val_acc:.4f}" if best else "-",
            f"{final.test_acc:.4f}" if final else "-",
            (final.arch if final else best.arch if best else "-"),
        )  # fmt: skip
        tds = [f"<td>{escape(str(v))}</td>" for v in cells[:-1]]
        rows.append("<tr>" + "".join(tds) + f'<td class="arch">{escape(str(cells[-1]))}</td></tr>')
    return "\n".join([*rows, "</table>"])


def write_comparison(run_dirs: list[str | Path], out: str | Path) -> Path:
    """Write the comparison page of ``run_dirs`` to ``out`` (replaced atomically);
    :class:`ConfigError` for a folder that holds no run, or an ``out`` that cannot be
    written."""
    runs = [load_run(r) for r in run_dirs]
    charts = comparison_charts(runs)
    figures = "".join(f'<figure class="chart">{render_svg(c)}</figure>' for c in charts)
    html = "\n".join([
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>rlnas: {len(runs)} runs compared</title><style>{CSS}</style></head><body>",
        f"<header><h1>{len(runs)} runs compared</h1></header><main>",
        f"<h2>What each run found</h2>{_table(runs)}",
        f'<h2>Progress and cost</h2><div class="charts">{figures}</div>',
        "</main></body></html>",
    ])  # fmt: skip
    target = Path(out)
    write_page(target, html, fix="choose another --out")
    return target
