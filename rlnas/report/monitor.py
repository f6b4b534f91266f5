"""Keeps ``RUN/report.html`` current while a search runs, at a bounded cost."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

from rlnas.config import SearchConfig
from rlnas.report.page import write_report
from rlnas.search.monitor import Monitor, SearchStatus, SearchSummary
from rlnas.store import FinalRecord, TrialRecord

__all__ = ["ReportMonitor"]


class ReportMonitor(Monitor):
    """Rewrites the report during the search and writes it, with PNGs, at the end.

    A refresh happens after a trial or a final retraining once ``min_interval`` seconds
    have passed since the last one, and never sooner than ``cost_factor`` times the last
    refresh took, so writing the report stays a small share of the search (a run with
    instant trials refreshes rarely, one with minute-long trials after each trial).
    Refreshes during the search skip the PNGs. A failing refresh never stops the search:
    it is reported once on ``stream``.
    """

    def __init__(
        self,
        *,
        min_interval: float = 10.0,
        cost_factor: float = 20.0,
        png: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self.min_interval, self.cost_factor, self.png = min_interval, cost_factor, png
        self.stream = stream or sys.stderr
        self.run_dir: Path | None = None
        self.last = -float("inf")
        self.cost = 0.0
        self.refreshes = 0
        self.warned = False

    def on_start(self, config: SearchConfig, status: SearchStatus) -> None:
        self.run_dir = Path(config.run_dir) if config.run_dir else None
        self.write(live=True)

    def on_trial(self, record: TrialRecord, status: SearchStatus) -> None:
        self.maybe_write()

    def on_final(self, record: FinalRecord) -> None:
        self.maybe_write()

    def on_end(self, summary: SearchSummary) -> None:
        self.run_dir = summary.run_dir
        self.write(live=False, png=self.png)

    def maybe_write(self) -> None:
        wait = max(self.min_interval, self.cost_factor * self.cost)
        if time.perf_counter() - self.last >= wait:
            self.write(live=True)

    def write(self, *, live: bool, png: bool = False) -> None:
        if self.run_dir is None:
            return
        start = time.perf_counter()
        try:
            write_report(self.run_dir, live=live, png=png)
        except Exception as error:  # the search matters more than its report
            if not self.warned:
                print(f"rlnas: warning: report not written: {error}", file=self.stream)
                self.warned = True
        self.last = time.perf_counter()
        self.cost = self.last - start
        self.refreshes += 1
