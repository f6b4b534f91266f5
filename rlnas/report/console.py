"""Live progress of a search: a rich progress bar on a terminal, one line per trial otherwise."""

from __future__ import annotations

import statistics
import sys
import time
from collections import deque
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from rlnas.config import SearchConfig
from rlnas.results import ShortlistScore, TrialStatus
from rlnas.search.monitor import Monitor, SearchStatus, SearchSummary
from rlnas.store import FinalRecord, TrialRecord
from rlnas.strategies import PhaseReport

__all__ = ["ConsoleMonitor", "format_seconds", "remaining_seconds"]


def remaining_seconds(status: SearchStatus, trained_at_start: float) -> float | None:
    """Seconds until the search stops: the models still to train at this session's pace,
    capped by the time left under the limit; None before the first model of this session
    when there is no limit.

    >>> from dataclasses import replace
    >>> s = SearchStatus(trained=4, budget=10, trials=5, best_reward=None, best_arch=None,
    ...                  elapsed=20.0)
    >>> remaining_seconds(s, 0), remaining_seconds(replace(s, time_left=10.0), 0)
    (30.0, 10.0)
    """
    done = status.trained - trained_at_start
    estimate = None if done <= 0 else (status.budget - status.trained) * status.elapsed / done
    if status.time_left is not None:
        left = status.time_left
        estimate = left if estimate is None else min(estimate, left)
    return estimate


def format_seconds(seconds: float) -> str:
    """``3725`` -> ``1:02:05``.

    >>> format_seconds(3725), format_seconds(59.6)
    ('1:02:05', '0:01:00')
    """
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def header(config: SearchConfig) -> str:
    """The search's first line: what, where, how much (one line, never wrapped).

    >>> print(header(SearchConfig(run_dir="runs/x", time_limit=600)).replace("; ", ";\\n"))
    rlnas: qlearning search on digits (default space);
    budget 60 models x 8 epochs;
    time limit 0:10:00;
    run dir runs/x
    """
    if config.min_epochs is None:
        budget = f"budget {config.budget} models x {config.epochs} epochs"
    else:
        from rlnas.search.rungs import Rungs

        rungs = Rungs.of(min_epochs=config.min_epochs, epochs=config.epochs, eta=config.eta)
        at = ", ".join(map(str, rungs.milestones))
        budget = f"budget {config.budget} full trainings of {config.epochs} epochs, rungs at {at}"
    parts = [f"rlnas: {config.strategy} search on {config.dataset} "
             f"({config.space or 'default'} space)", budget]  # fmt: skip
    if config.time_limit is not None:
        parts.append(f"time limit {format_seconds(config.time_limit)}")
    parts.append(f"run dir {config.run_dir}")
    return "; ".join(parts)


def _state(record: TrialRecord) -> str:
    """What the trial line says of a trial that did not train as asked."""
    r = record.result
    if r.ok:
        return ""
    if r.status is TrialStatus.PRUNED:
        if record.info.get("screened"):
            return f"  screened out ({r.error})"
        return f"  stopped after {r.epochs} epochs"
    return f"  FAILED: {r.error}"


class Pace:
    """How fast this machine trains (multiply-adds x epochs per second, the median of the
    recent trials): a trial far slower than its size predicts is flagged, as on a machine
    busy with other work.

    >>> from rlnas.results import EvalResult
    >>> def trial(seconds):
    ...     result = EvalResult(TrialStatus.OK, 0.9, 10, flops=10**6, seconds=seconds, epochs=2)
    ...     return TrialRecord(0, "a", (), 0.9, result, True)
    >>> pace = Pace()
    >>> [pace.note(trial(s)) for s in (1.0, 1.1, 0.9, 1.0, 1.2)][-1]
    ''
    >>> pace.note(trial(6.0))
    '  slow: 6.0x the usual pace (is the machine busy?)'
    """

    def __init__(self, window: int = 20, factor: float = 3.0) -> None:
        self.rates: deque[float] = deque(maxlen=window)
        self.factor = factor

    def note(self, record: TrialRecord) -> str:
        r = record.result
        if not record.new or not r.flops or not r.epochs or r.seconds <= 0:
            return ""
        rate = r.flops * r.epochs / r.seconds
        usual = statistics.median(self.rates) if len(self.rates) >= 5 else None
        self.rates.append(rate)
        if usual is None or rate * self.factor > usual or r.seconds < 2.0:
            return ""
        return f"  slow: {usual / rate:.1f}x the usual pace (is the machine busy?)"


def _count(value: float) -> str:
    """A budget count: whole models as integers, model-equivalents of rungs with a decimal.

    >>> _count(4.0), _count(4.375)
    ('4', '4.4')
    """
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


class _Remaining(ProgressColumn):
    """Counts down from the estimate made at the last trial (rich's own estimate needs
    several updates within 30 s, which trials of minutes never give)."""

    def render(self, task: Task) -> Text:
        deadline = task.fields.get("deadline")
        if deadline is None:
            return Text("left -:--:--")
        return Text(f"left {format_seconds(max(deadline - time.perf_counter(), 0.0))}")


class ConsoleMonitor(Monitor):
    """Shows trials done of budget, epsilon, best so far, elapsed and remaining time."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.console = Console(file=self.stream, highlight=False)
        self.live = self.console.is_terminal if live is None else live
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.trained_at_start = 0.0
        self.pace = Pace()

    def on_start(self, config: SearchConfig, status: SearchStatus) -> None:
        self.trained_at_start = status.trained
        self.console.print(header(config), markup=False, soft_wrap=True)
        if status.trials:
            trained = _count(status.trained)
            self.console.print(f"resuming after {status.trials} trials ({trained} trained)")
        if self.live:
            self.progress = Progress(
                TextColumn("[bold]search"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[extra]}"),
                TimeElapsedColumn(),
                _Remaining(),
                console=self.console,
            )
            self.progress.start()
            deadline = remaining_seconds(status, status.trained)
            self.task = self.progress.add_task(
                "search", total=status.budget, completed=int(status.trained), extra="",
                deadline=None if deadline is None else time.perf_counter() + deadline,
            )  # fmt: skip

    def on_trial(self, record: TrialRecord, status: SearchStatus) -> None:
        epsilon = status.info.get("epsilon")
        eps = f"eps {epsilon:.2f}  " if epsilon is not None else ""
        best = f"best {status.best_reward:.4f}" if status.best_reward is not None else ""
        if self.progress is not None and self.task is not None:
            left = remaining_seconds(status, self.trained_at_start)
            self.progress.update(
                self.task, completed=int(status.trained), extra=f"trial {record.id}  {eps}{best}",
                deadline=None if left is None else time.perf_counter() + left,
            )  # fmt: skip
            return
        r = record.result
        source = "new   " if record.new else "cached"
        state = _state(record) + self.pace.note(record)
        took = f"{r.seconds:5.1f}s" if record.new else "    - "
        self.console.print(
            f"trial {record.id:4d} {source} {_count(status.trained):>4}/{status.budget}  "
            f"val {r.val_acc:.4f}  reward {record.reward:.4f}  {eps}{best}  "
            f"{took}  {record.arch}{state}",
            soft_wrap=True,
            markup=False,
        )

    def on_phase(self, report: PhaseReport, status: SearchStatus) -> None:
        """One line per step of a weight-sharing phase (ENAS), before the trials start."""
        shown = "  ".join(
            f"{key} {value:.4g}" for key, value in report.info.items() if key != "seconds"
        )
        took = report.info.get("seconds")
        self.console.print(
            f"shared weights {report.step}/{report.steps}  {shown}"
            + (f"  {took:.1f}s" if took is not None else ""),
            soft_wrap=True,
            markup=False,
        )

    def on_shortlist_start(self, count: int, epochs: int) -> None:
        self._stop_bar()
        self.console.print(
            f"re-ranking the best {count}: {epochs} epochs of the final recipe each, "
            "scored on validation"
        )

    def on_shortlisted(self, arch: str, score: ShortlistScore) -> None:
        state = f"  FAILED: {score.failed}" if score.failed else ""
        self.console.print(
            f"  val {score.val_acc:.4f}  {score.seconds:.1f}s  {arch}{state}",
            soft_wrap=True,
            markup=False,
        )

    def _stop_bar(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def on_final_start(self, count: int) -> None:
        self._stop_bar()
        if count:
            self.console.print(f"retraining the top {count} on train+validation, testing once")

    def on_final(self, record: FinalRecord) -> None:
        self.console.print(
            f"  #{record.rank}  test {record.test_acc:.4f}  val {record.val_acc:.4f}  "
            f"{record.epochs} epochs {record.seconds:.1f}s  {record.arch}{_metrics(record)}",
            soft_wrap=True,
            markup=False,
        )

    def on_end(self, summary: SearchSummary) -> None:
        self._stop_bar()
        search = summary.search_seconds
        share = 1 - summary.train_seconds / search if search else 0.0
        # Parallel workers train for more seconds than the search lasts.
        detail = (
            f"{share:.1%} of it outside child training"
            if share >= 0
            else f"{summary.train_seconds:.1f}s of child training over all workers"
        )
        self.console.print(
            f"stopped ({summary.stopped}) after {len(summary.trials)} trials; search "
            f"{search:.1f}s ({detail}), total {summary.elapsed:.1f}s",
            soft_wrap=True,
        )
        if summary.interrupted:
            self.console.print(
                f"{summary.interrupted} trial(s) in flight were interrupted; "
                f"rlnas search --resume --run-dir {summary.run_dir} runs them again",
                soft_wrap=True,
            )
        self.console.print(f"see: rlnas show {summary.run_dir}", soft_wrap=True, markup=False)
        report = summary.run_dir / "report.html"
        if report.is_file():
            self.console.print(f"report: {report}", soft_wrap=True, markup=False)


def _metrics(record: FinalRecord) -> str:
    """``"  (test_ppl 4.12, lstm_test_ppl 4.3)"``: the final model's other measurements."""
    metrics = record.result.get("metrics") or {}
    shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
    return f"  ({shown})" if shown else ""
