"""What a report shows, read from a run directory, and the few derived series it needs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from rlnas.runs import read_run
from rlnas.store import FinalRecord, TrialRecord

__all__ = ["RunData", "load_run", "numeric_info_keys", "pareto_front", "running_best"]


@dataclass(frozen=True)
class RunData:
    """A run as stored: resolved config, trials in order, final scores, input shape."""

    run_dir: Path
    config: dict[str, Any]
    trials: list[TrialRecord]
    finals: list[FinalRecord]
    #: Per-image (C, H, W) the search trained on; None for runs stored before it was kept.
    input_shape: tuple[int, int, int] | None

    @cached_property
    def info_keys(self) -> list[str]:
        """:func:`numeric_info_keys` of the trials (read once: several charts ask)."""
        return numeric_info_keys(self.trials)

    @property
    def name(self) -> str:
        return self.run_dir.resolve().name

    def start_time(self) -> float:
        """Wall time the search started: the first trial's commit minus its training."""
        if not self.trials:
            return 0.0
        first = self.trials[0]
        return first.created - (first.result.seconds if first.new else 0.0)


def load_run(run_dir: str | Path) -> RunData:
    """Read a run; :class:`ConfigError` if ``run_dir`` holds none. Safe while a search
    writes to it (SQLite WAL readers see the last committed trial)."""
    run = Path(run_dir)
    with read_run(run) as (store, config):  # one consistent state
        shape_text = store.get_meta("input_shape")
        trials, finals = store.trials(), store.finals()
    shape = tuple(json.loads(shape_text)) if shape_text else None
    input_shape = (int(shape[0]), int(shape[1]), int(shape[2])) if shape else None
    return RunData(run, config, trials, finals, input_shape)


def running_best(values: Sequence[float]) -> list[float]:
    """The best value so far at each position.

    >>> running_best([0.2, 0.5, 0.3, 0.7])
    [0.2, 0.5, 0.5, 0.7]
    """
    out: list[float] = []
    for value in values:
        out.append(value if not out else max(out[-1], value))
    return out


def pareto_front(costs: Sequence[float], scores: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats (lower-or-equal cost and higher-or-equal
    score, one of them strictly), by increasing cost. Of identical points the first is kept.

    >>> pareto_front([10, 20, 30, 15], [0.5, 0.9, 0.8, 0.5])
    [0, 1]
    """
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -scores[i], i))
    front: list[int] = []
    for i in order:
        if not front or scores[i] > scores[front[-1]]:
            front.append(i)
    return front


def numeric_info_keys(trials: Sequence[TrialRecord]) -> list[str]:
    """The keys of the strategies' per-trial ``info`` that hold numbers, in first-seen order."""
    keys: dict[str, None] = {}
    for trial in trials:
        for key, value in trial.info.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                keys.setdefault(key)
    return list(keys)
