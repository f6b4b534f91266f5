"""The report's plots as data: each :class:`Chart` is drawn twice from the same spec, as
inline SVG for the page (:mod:`rlnas.report.svg`) and as PNG (:mod:`rlnas.report.png`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlnas.report.data import RunData, pareto_front, running_best
from rlnas.runs import leaderboard
from rlnas.store import TrialRecord

__all__ = ["PALETTE", "Chart", "Series", "build_charts"]

#: Distinct colours for series (matplotlib's tab10).
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
GREY = "#9aa0a6"
FRONT = "#d62728"
#: Info keys that colour the reward plot, first present wins (exploration, then learning).
COLOR_KEYS = ("epsilon", "update", "controller_update", "epoch")
#: Titles of the controller diagnostics strategies report in ``info``.
DIAGNOSTICS = {
    "q_spread": (
        "Q-value spread on the proposed path",
        "Mean over the path's states of max - min Q over the legal actions: how decided "
        "the Q-table is. It grows as the agent learns which layers pay.",
    ),
    "entropy": ("Policy entropy", "Entropy of the controller's action distribution."),
    "baseline": ("Reward baseline", "The moving-average baseline REINFORCE subtracts."),
    "update": ("Controller updates", "Number of controller updates so far."),
    "mutated": ("Mutation or random sample", "1: a mutated parent, 0: a random architecture."),
}
#: Learning curves drawn in grey at most; more are thinned evenly.
MAX_CURVES = 400
#: Points (or line vertices) per series at most; more are thinned evenly, so that the page
#: of a 100,000-trial run stays quick to write and to open. Best-so-far steps keep every
#: change, and Pareto fronts every point.
MAX_POINTS = 2000


@dataclass(frozen=True)
class Series:
    """One set of marks. ``kind``: points, line, or step (a step-after line)."""

    name: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    kind: str = "points"
    color: str = PALETTE[0]
    #: Per-point values mapped through the chart's colour scale (instead of ``color``).
    values: tuple[float, ...] | None = None
    #: Per-point hover text, and the trial each point belongs to (for highlighting).
    labels: tuple[str, ...] | None = None
    ids: tuple[int, ...] | None = None
    #: Point radius or line width, in pixels.
    size: float = 3.0
    opacity: float = 1.0
    hollow: bool = False
    legend: bool = True


@dataclass(frozen=True)
class Chart:
    """One plot: axes, series, and an optional colour scale for points with ``values``."""

    key: str
    title: str
    x_label: str
    y_label: str
    series: tuple[Series, ...]
    section: str
    x_log: bool = False
    color_label: str | None = None
    color_range: tuple[float, float] | None = None
    note: str = ""
    #: The x axis counts (trials, epochs): whole-number ticks only.
    x_integer: bool = False

    @property
    def empty(self) -> bool:
        return not any(s.x for s in self.series)


def _short(t: TrialRecord) -> str:
    """Hover text where the plot already shows the numbers: which trial, which network."""
    return f"trial {t.id}: {t.arch}"


def _label(t: TrialRecord) -> str:
    """The full hover text: the trial's numbers and the strategy's diagnostics."""
    r = t.result
    parts = [_short(t), f"val acc {r.val_acc:.4f}, reward {t.reward:.4f}"]
    if r.status.value != "ok":
        parts.append(f"{r.status.value}: {r.error or ''}".strip())
    parts += [f"{k} {v:.4g}" for k, v in sorted(t.info.items()) if isinstance(v, (int, float))]
    if not t.new:
        parts.append("result replayed from the cache")
    return "\n".join(parts)


def _even(n: int, limit: int = MAX_POINTS) -> list[int]:
    """Indices of at most ``limit`` of ``n`` items, evenly spaced, first and last kept.

    >>> _even(5, 10), _even(10, 4)
    ([0, 1, 2, 3, 4], [0, 3, 6, 9])
    """
    if n <= limit:
        return list(range(n))
    return [round(i * (n - 1) / (limit - 1)) for i in range(limit)]


def _steps(x: list[float], y: list[float]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A step-after line with only the vertices where it changes (and its end): the same
    line in far fewer points.

    >>> _steps([0, 1, 2, 3], [0.5, 0.5, 0.7, 0.7])
    ((0, 2, 3), (0.5, 0.7, 0.7))
    """
    keep = [i for i in range(len(y)) if i in (0, len(y) - 1) or y[i] != y[i - 1]]
    keep = [keep[i] for i in _even(len(keep))]
    return tuple(x[i] for i in keep), tuple(y[i] for i in keep)


def _thinned(note: str, count: int) -> str:
    """``note``, plus a sentence when a series of ``count`` points was thinned."""
    if count <= MAX_POINTS:
        return note
    return f"{note} {MAX_POINTS:,} of {count:,} points shown, evenly spaced.".strip()


def _points(
    name: str,
    trials: list[TrialRecord],
    x: list[float],
    y: list[float],
    *,
    full: bool = False,
    **style: Any,
) -> Series:
    """Points with the trials' hover text (``full``: with all numbers) and ids, at most
    :data:`MAX_POINTS` of them; ``style``: other :class:`Series` fields. Full texts only
    where the plot is about the trial: they are most of a large report's size."""
    keep = _even(len(trials))
    if len(keep) < len(trials):
        trials, x, y = [trials[i] for i in keep], [x[i] for i in keep], [y[i] for i in keep]
        if style.get("values") is not None:
            style["values"] = tuple(style["values"][i] for i in keep)
    labels = tuple(_label(t) if full else _short(t) for t in trials)
    return Series(name, tuple(x), tuple(y), labels=labels, ids=tuple(t.id for t in trials), **style)


def _best_by(run: RunData, key: str, x_of: list[float], x_label: str, title: str) -> Chart:
    trials = [t for t in run.trials if t.new]
    values = [t.result.val_acc for t in trials]
    best = running_best(values)
    series = (
        _points("each trained model", trials, x_of, values, color=GREY, size=2.5),
        Series("best so far", *_steps(x_of, best), kind="step", color=PALETTE[0], size=2),
    )
    return Chart(key, title, x_label, "validation accuracy", series, "progress",
                 x_integer=x_label == "trial", note=_thinned("", len(trials)))  # fmt: skip


def build_charts(run: RunData) -> list[Chart]:
    """Every chart the run's data supports, in page order."""
    trained = [t for t in run.trials if t.new]
    start = run.start_time()
    seconds = [t.created - start for t in trained]
    unit, scale = next(
        (u for u in (("seconds", 1.0), ("minutes", 60.0)) if max(seconds, default=0) < 180 * u[1]),
        ("hours", 3600.0),
    )
    charts = [
        _best_by(
            run,
            "best_by_trial",
            [float(t.id) for t in trained],
            "trial",
            "Best validation accuracy so far, by trial",
        ),
        _best_by(
            run,
            "best_by_time",
            [s / scale for s in seconds],
            f"{unit} since the search started",
            "Best validation accuracy so far, by time",
        ),
        _rewards(run),
    ]
    if any("epsilon" in t.info for t in run.trials):
        charts.append(_epsilon(run))
    charts.append(_cost(run, "params", "parameters"))
    if any(t.result.latency_ms is not None for t in run.trials):
        charts.append(_cost(run, "latency", "latency (ms, batch 1)"))
    charts += [_diagnostic(run, key) for key in run.info_keys if key != "epsilon"]
    charts.append(_curves(run))
    return charts


def _color_key(run: RunData) -> str | None:
    present = set(run.info_keys)
    return next((k for k in COLOR_KEYS if k in present), None)


def _rewards(run: RunData) -> Chart:
    key = _color_key(run)
    groups = (
        ("trained", lambda t: t.new and t.result.status.value != "failed", 3.2, False),
        ("replayed from the cache", lambda t: not t.new, 2.6, True),
    )
    series = []
    values_all = [float(t.info[key]) for t in run.trials if key and key in t.info]
    for name, chosen, size, hollow in groups:
        trials = [t for t in run.trials if chosen(t)]
        new = name == "trained"
        values = None
        if key is not None:
            values = tuple(float(t.info.get(key, values_all[0])) for t in trials)
        x, y = [float(t.id) for t in trials], [t.reward for t in trials]
        color = PALETTE[0] if new else GREY
        style = {"values": values, "size": size, "hollow": hollow, "color": color}
        series.append(_points(name, trials, x, y, full=True, **style))
    failed = [t for t in run.trials if t.new and t.result.status.value == "failed"]
    series.append(
        _points("failed (chance reward)", failed, [float(t.id) for t in failed],
                [t.reward for t in failed], full=True, color=FRONT, size=3.4, hollow=True)
    )  # fmt: skip
    span = (min(values_all), max(values_all)) if values_all else None
    title = "Reward of every trial" + (f", coloured by {key}" if key else "")
    note = _thinned("Red rings: trials that failed (their reward is chance level).",
                    len(run.trials))  # fmt: skip
    return Chart(
        "rewards",
        title,
        "trial",
        "reward",
        tuple(series),
        "search",
        color_label=key,
        color_range=span,
        note=note,
        x_integer=True,
    )


def _epsilon(run: RunData) -> Chart:
    trials = [t for t in run.trials if "epsilon" in t.info]
    x = [float(t.id) for t in trials]
    y = [float(t.info["epsilon"]) for t in trials]
    line = Series("epsilon", *_steps(x, y), kind="step", color=PALETTE[1], size=2)
    note = (
        "Counted in unique trained models, so cache replays do not advance it; under a "
        "time limit, in the share of the time spent when that is further on."
    )
    title = "Epsilon schedule (exploration rate of each proposal)"
    return Chart("epsilon", title, "trial", "epsilon", (line,), "search", note=note,
                 x_integer=True)  # fmt: skip


def _cost(run: RunData, key: str, label: str) -> Chart:
    """Validation accuracy against a cost, one point per architecture, with the Pareto front."""
    rows = [t for t in leaderboard(run.trials) if t.result.ok]
    if key == "latency":
        rows = [t for t in rows if t.result.latency_ms is not None]
    if key == "latency":
        costs = [float(t.result.latency_ms or 0.0) for t in rows]
    else:
        costs = [float(t.result.params) for t in rows]
    keep = [i for i, c in enumerate(costs) if c > 0]  # a log axis has no room for 0
    rows, costs = [rows[i] for i in keep], [costs[i] for i in keep]
    scores = [t.result.val_acc for t in rows]
    front = pareto_front(costs, scores)
    best = [rows[i] for i in front]
    best_costs, best_scores = [costs[i] for i in front], [scores[i] for i in front]
    series = (
        _points("architectures", rows, costs, scores, full=True, size=3, opacity=0.75),
        Series("Pareto front", tuple(best_costs), tuple(best_scores), "step", FRONT, size=1.6),
        _points(
            "on the front",
            best,
            best_costs,
            best_scores,
            color=FRONT,
            size=5,
            hollow=True,
            legend=False,
        ),
    )
    note = _thinned("Red: the Pareto front, no architecture is both cheaper and better.", len(rows))
    title = f"Validation accuracy against {label}"
    return Chart(
        f"accuracy_vs_{key}",
        title,
        label,
        "validation accuracy",
        series,
        "costs",
        x_log=True,
        note=note,
    )


def _diagnostic(run: RunData, key: str) -> Chart:
    trials = [t for t in run.trials if key in t.info]
    x = [float(t.id) for t in trials]
    y = [float(t.info[key]) for t in trials]
    keep = _even(len(x))
    line = tuple(x[i] for i in keep), tuple(y[i] for i in keep)
    series = (
        Series(key, *line, kind="line", color=PALETTE[2], size=1.2, legend=False),
        _points(key, trials, x, y, color=PALETTE[2], size=2.2, legend=False),
    )
    title, note = DIAGNOSTICS.get(key, (f"Diagnostic: {key}", "Reported by the strategy."))
    note = _thinned(note, len(trials))
    return Chart(f"diagnostic_{key}", title, "trial", key, series, "controller", note=note,
                 x_integer=True)  # fmt: skip


def _curves(run: RunData) -> Chart:
    """Validation accuracy per epoch of each trained model; the five best in colour."""
    trained = [t for t in run.trials if t.new and t.result.val_curve]
    best = sorted((t for t in trained if t.result.ok), key=lambda t: -t.result.val_acc)[:5]
    chosen = {t.id for t in best}
    rest = [t for t in trained if t.id not in chosen]
    note = ""
    if len(rest) > MAX_CURVES:
        note = f"{MAX_CURVES} of {len(rest)} other curves shown (evenly spaced)."
        rest = [rest[i * len(rest) // MAX_CURVES] for i in range(MAX_CURVES)]
    series = []
    for t in rest:
        series.append(_curve(t, GREY, 1.0, 0.35, legend=False))
    for i, t in enumerate(best):
        series.append(_curve(t, PALETTE[i], 2.0, 1.0, legend=True, name=f"#{i + 1} trial {t.id}"))
    return Chart(
        "learning_curves",
        "Learning curves (validation accuracy per epoch)",
        "epoch",
        "validation accuracy",
        tuple(series),
        "curves",
        note=note,
        x_integer=True,
    )


def _curve(
    t: TrialRecord, color: str, width: float, opacity: float, *, legend: bool, name: str = ""
) -> Series:
    curve = t.result.val_curve
    return Series(
        name or f"trial {t.id}",
        tuple(float(e) for e in range(1, len(curve) + 1)),
        tuple(curve),
        kind="line",
        color=color,
        size=width,
        opacity=opacity,
        legend=legend,
        labels=(_short(t),),
        ids=(t.id,),
    )
