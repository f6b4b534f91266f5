"""The read side of a run: its leaderboard, Pareto front and re-ranking (what `rlnas show`,
the report and export read), and where its final models' weights are stored."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from rlnas.config import ConfigError
from rlnas.evaluation.rewards import make_reward, needs_latency
from rlnas.store import FinalRecord, Store, TrialRecord

__all__ = [
    "Row",
    "leaderboard",
    "model_id",
    "open_run",
    "pareto_front",
    "ranking",
    "rerank",
    "rows_to_json",
]


@dataclass(frozen=True)
class Row:
    """One line of a run's leaderboard."""

    rank: int
    arch: str
    val_acc: float
    reward: float
    params: int
    flops: int
    seconds: float
    trial: int
    status: str
    test_acc: float | None
    latency_ms: float | None = None
    #: Language models: best validation perplexity, and test perplexity once retrained.
    val_ppl: float | None = None
    test_ppl: float | None = None


@contextmanager
def read_run(run_dir: str | Path) -> Iterator[tuple[Store, dict[str, Any]]]:
    """A run's store, read-only, in one consistent state (safe while a search writes it),
    and its stored config; ConfigError if ``run_dir`` holds no run."""
    path = Path(run_dir) / "trials.db"
    if not path.is_file():
        raise ConfigError(f"{run_dir} is not a run directory (no trials.db in it)")
    with Store(path, readonly=True) as store, store.snapshot():
        yield store, json.loads(store.get_meta("config") or "{}")


def open_run(run_dir: str | Path) -> tuple[dict[str, Any], list[TrialRecord], list[FinalRecord]]:
    """The stored config, trials and final scores of a run; ConfigError if there is none."""
    with read_run(run_dir) as (store, config):
        return config, store.trials(), store.finals()


def rerank(trials: list[TrialRecord], reward: str, config: dict[str, Any]) -> list[TrialRecord]:
    """``trials`` with their rewards recomputed under the reward spec ``reward`` (raw
    metrics are stored, so nothing is retrained). ConfigError for a bad spec, or when the
    reward needs latencies the run did not measure."""
    try:
        fn = make_reward(reward, latency_ms=config.get("max_latency_ms"))
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if needs_latency(fn) and any(t.result.ok and t.result.latency_ms is None for t in trials):
        raise ConfigError(
            f"reward {reward!r} needs latencies, but this run did not measure them; "
            "search with --latency to re-rank by latency"
        )
    return [replace(t, reward=fn(t.result)) for t in trials]


def pareto_front(trials: list[TrialRecord]) -> list[TrialRecord]:
    """The successful architectures no other one beats on every axis: higher validation
    accuracy, fewer parameters and (when measured) lower latency. Best accuracy first.

    >>> from rlnas.results import EvalResult, TrialStatus
    >>> def t(i, acc, params):
    ...     result = EvalResult(TrialStatus.OK, acc, 10, params)
    ...     return TrialRecord(i, f"a{i}", (), acc, result, True)
    >>> [x.arch for x in pareto_front([t(0, 0.9, 500), t(1, 0.8, 100), t(2, 0.85, 600)])]
    ['a0', 'a1']
    """

    def axes(t: TrialRecord) -> tuple[float, ...]:
        latency = t.result.latency_ms
        return (-t.result.val_acc, t.result.params, latency if latency is not None else 0.0)

    rows = [t for t in leaderboard(trials) if t.result.ok]
    front = [
        t
        for t in rows
        if not any(
            all(x <= y for x, y in zip(axes(o), axes(t), strict=True)) and axes(o) != axes(t)
            for o in rows
        )
    ]
    return sorted(front, key=lambda t: (-t.result.val_acc, t.result.params, t.id))


def ranking(
    trials: list[TrialRecord], finals: list[FinalRecord], limit: int | None = None
) -> list[Row]:
    """The leaderboard: one row per architecture, the retrained ones first (in their
    final rank order), then best reward first; its first ``limit`` rows if given."""
    return _rows(leaderboard(trials, finals)[:limit], finals)


def open_ranking(run_dir: str | Path, top: int) -> tuple[dict[str, Any], int, list[Row]]:
    """The stored config, the number of trials and the first ``top`` rows of the run's
    :func:`ranking`, chosen by the store's query: quick on a run of any size."""
    with read_run(run_dir) as (store, config):
        return config, store.count_trials(), _rows(store.leaderboard(top), store.finals())


def _rows(board: list[TrialRecord], finals: Sequence[FinalRecord]) -> list[Row]:
    tests = {f.arch: f.test_acc for f in finals}
    test_ppls = {f.arch: (f.result.get("metrics") or {}).get("test_ppl") for f in finals}
    return [
        Row(
            rank,
            t.arch,
            t.result.val_acc,
            t.reward,
            t.result.params,
            t.result.flops,
            t.result.seconds,
            t.id,
            t.result.status.value,
            tests.get(t.arch),
            t.result.latency_ms,
            t.result.extra.get("val_ppl"),
            test_ppls.get(t.arch),
        )
        for rank, t in enumerate(board, start=1)
    ]


def rows_to_json(rows: list[Row]) -> str:
    return json.dumps([asdict(r) for r in rows], indent=2)


def leaderboard(trials: list[TrialRecord], finals: Sequence[FinalRecord] = ()) -> list[TrialRecord]:
    """One row per architecture (its first trial): the ``finals`` first, in their rank
    order (the search's top-k, or a shortlist's after re-ranking), then the others best
    reward first, failures last."""
    first: dict[str, TrialRecord] = {}
    for trial in trials:
        if trial.arch not in first:
            first[trial.arch] = trial
    chosen = {f.arch: f.rank for f in finals}
    return sorted(
        first.values(),
        key=lambda t: (
            t.arch not in chosen,
            chosen.get(t.arch, 0),
            not t.result.ok,
            -t.reward,
            t.id,
        ),
    )


def model_id(arch: str) -> str:
    """The file stem under ``RUN/models/`` of the final model of ``arch``."""
    return hashlib.sha256(arch.encode()).hexdigest()[:12]
