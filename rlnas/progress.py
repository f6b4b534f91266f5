"""Live progress of a search: a rich progress bar on a terminal, one line per trial otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from rlnas.config import SearchConfig
from rlnas.search import Monitor, SearchStatus, SearchSummary
from rlnas.store import FinalRecord, TrialRecord
from rlnas.strategies import PhaseReport

__all__ = ["ConsoleMonitor"]


class ConsoleMonitor(Monitor):
    """Shows trials done of budget, epsilon, best so far, elapsed and remaining time."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.console = Console(file=self.stream, highlight=False)
        self.live = self.console.is_terminal if live is None else live
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def on_start(self, config: SearchConfig, status: SearchStatus) -> None:
        self.console.print(
            f"rlnas: {config.strategy} search on {config.dataset} "
            f"({config.space or 'default'} space), "
            f"budget {config.budget} models x {config.epochs} epochs, run dir {config.run_dir}"
        )
        if status.trials:
            self.console.print(f"resuming after {status.trials} trials ({status.trained} trained)")
        if self.live:
            self.progress = Progress(
                TextColumn("[bold]search"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[extra]}"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self.progress.start()
            self.task = self.progress.add_task(
                "search", total=status.budget, completed=status.trained, extra=""
            )

    def on_trial(self, record: TrialRecord, status: SearchStatus) -> None:
        epsilon = status.info.get("epsilon")
        eps = f"eps {epsilon:.2f}  " if epsilon is not None else ""
        best = f"best {status.best_reward:.4f}" if status.best_reward is not None else ""
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=status.trained, extra=f"{eps}{best}")
            return
        r = record.result
        source = "new   " if record.new else "cached"
        state = "" if r.ok else f"  FAILED: {r.error}"
        took = f"{r.seconds:5.1f}s" if record.new else "    - "
        self.console.print(
            f"trial {record.id:4d} {source} {status.trained:4d}/{status.budget}  "
            f"val {r.val_acc:.4f}  reward {record.reward:.4f}  {eps}{best}  "
            f"{took}  {record.arch}{state}",
            soft_wrap=True,
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
        )

    def on_final_start(self, count: int) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        if count:
            self.console.print(f"retraining the top {count} on train+validation, testing once")

    def on_final(self, record: FinalRecord) -> None:
        self.console.print(
            f"  #{record.rank}  test {record.test_acc:.4f}  val {record.val_acc:.4f}  "
            f"{record.epochs} epochs {record.seconds:.1f}s  {record.arch}",
            soft_wrap=True,
        )

    def on_end(self, summary: SearchSummary) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        search = summary.search_seconds
        share = 1 - summary.train_seconds / search if search else 0.0
        self.console.print(
            f"stopped ({summary.stopped}) after {len(summary.trials)} trials; search "
            f"{search:.1f}s ({share:.1%} of it outside child training), "
            f"total {summary.elapsed:.1f}s",
            soft_wrap=True,
        )
        self.console.print(f"see: rlnas show {summary.run_dir}", soft_wrap=True)
