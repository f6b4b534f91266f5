"""What a search reports while it runs: its status, its summary, and the monitor protocol
that progress displays and the live report implement."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rlnas.config import SearchConfig
from rlnas.results import ShortlistScore
from rlnas.store import FinalRecord, TrialRecord
from rlnas.strategies import PhaseReport

__all__ = ["Monitor", "MonitorGroup", "SearchStatus", "SearchSummary"]


@dataclass(frozen=True)
class SearchStatus:
    """Where a search stands, for progress displays."""

    #: Of the budget: models trained (with rungs: their epochs, in full trainings).
    trained: float
    budget: int
    trials: int
    best_reward: float | None
    best_arch: str | None
    elapsed: float
    info: dict[str, float] = field(default_factory=dict)
    #: Search seconds left under the time limit (counted over every session); None
    #: without one.
    time_left: float | None = None


@dataclass(frozen=True)
class SearchSummary:
    run_dir: Path
    trials: list[TrialRecord]
    finals: list[FinalRecord]
    #: Why the search stopped: budget, time limit, converged or interrupted.
    stopped: str
    #: Wall seconds of this invocation; of the search phase (final retraining excluded);
    #: and of the search phase, those spent training children.
    elapsed: float
    search_seconds: float
    train_seconds: float
    #: Proposals that were out (being trained) when the search was interrupted: stored as
    #: interrupted, run again by ``--resume``.
    interrupted: int = 0


class Monitor:
    """Receives progress events; the CLI's live display subclasses it. Methods are no-ops."""

    def on_start(self, config: SearchConfig, status: SearchStatus) -> None: ...

    def on_trial(self, record: TrialRecord, status: SearchStatus) -> None: ...

    def on_phase(self, report: PhaseReport, status: SearchStatus) -> None: ...

    def on_shortlist_start(self, count: int, epochs: int) -> None: ...

    def on_shortlisted(self, arch: str, score: ShortlistScore) -> None: ...

    def on_final_start(self, count: int) -> None: ...

    def on_final(self, record: FinalRecord) -> None: ...

    def on_end(self, summary: SearchSummary) -> None: ...


class MonitorGroup(Monitor):
    """Passes every event to each of ``monitors``, in order."""

    def __init__(self, *monitors: Monitor) -> None:
        self.monitors = monitors

    def on_start(self, config: SearchConfig, status: SearchStatus) -> None:
        for m in self.monitors:
            m.on_start(config, status)

    def on_trial(self, record: TrialRecord, status: SearchStatus) -> None:
        for m in self.monitors:
            m.on_trial(record, status)

    def on_phase(self, report: PhaseReport, status: SearchStatus) -> None:
        for m in self.monitors:
            m.on_phase(report, status)

    def on_shortlist_start(self, count: int, epochs: int) -> None:
        for m in self.monitors:
            m.on_shortlist_start(count, epochs)

    def on_shortlisted(self, arch: str, score: ShortlistScore) -> None:
        for m in self.monitors:
            m.on_shortlisted(arch, score)

    def on_final_start(self, count: int) -> None:
        for m in self.monitors:
            m.on_final_start(count)

    def on_final(self, record: FinalRecord) -> None:
        for m in self.monitors:
            m.on_final(record)

    def on_end(self, summary: SearchSummary) -> None:
        for m in self.monitors:
            m.on_end(summary)
