"""The SQLite trial store (WAL mode), one file per run: ``RUN_DIR/trials.db``.

Protocol: each finished trial is committed in one transaction together with the
strategy checkpoint taken right after the strategy observed it, and with the proposals
still out at that moment (``pending``: being trained by parallel workers, or waiting for
such a result), so a run killed at any moment resumes exactly from its last committed
trial: the strategy as it was then, and the proposals it had made but not yet seen
answered, which are run again first. Finished trials may not be modified (a trigger
enforces it). Results are cached by (evaluator fingerprint,
architecture). The store keeps rows and plain state dicts, never strategy objects.
"""

from __future__ import annotations

import enum
import json
import os
import pickle
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rlnas.results import EvalResult, ShortlistScore, no_collection, restore

__all__ = ["FinalRecord", "PendingState", "PendingTrial", "Store", "StoreError", "TrialRecord"]

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY,
    arch TEXT NOT NULL,
    actions TEXT NOT NULL,
    status TEXT NOT NULL,
    reward REAL NOT NULL,
    val_acc REAL NOT NULL,
    params INTEGER NOT NULL,
    flops INTEGER NOT NULL,
    seconds REAL NOT NULL,
    new INTEGER NOT NULL,
    info TEXT NOT NULL,
    result TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TRIGGER IF NOT EXISTS trials_are_final BEFORE UPDATE ON trials
BEGIN SELECT RAISE(ABORT, 'finished trials may not be modified'); END;
CREATE TABLE IF NOT EXISTS cache (
    fingerprint TEXT NOT NULL, arch TEXT NOT NULL, result TEXT NOT NULL,
    PRIMARY KEY (fingerprint, arch)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    name TEXT PRIMARY KEY, trial_id INTEGER NOT NULL, state BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY, arch TEXT NOT NULL, actions TEXT NOT NULL, info TEXT NOT NULL,
    attempts INTEGER NOT NULL, state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS finals (
    arch TEXT PRIMARY KEY, rank INTEGER NOT NULL, val_acc REAL NOT NULL,
    test_acc REAL NOT NULL, epochs INTEGER NOT NULL, seconds REAL NOT NULL, result TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS shortlist (arch TEXT PRIMARY KEY, score TEXT NOT NULL);
"""


class StoreError(RuntimeError):
    """The store file is not an rlnas store, or is from an incompatible version."""


@dataclass(frozen=True)
class TrialRecord:
    """One proposal and its outcome, as stored. ``new`` is False for a cache replay."""

    id: int
    arch: str
    actions: tuple[int, ...]
    reward: float
    result: EvalResult
    new: bool
    info: dict[str, float] = field(default_factory=dict)
    created: float = 0.0


class PendingState(str, enum.Enum):
    """``running`` when the run stopped without warning (killed); ``interrupted`` after
    Ctrl-C. Either way ``--resume`` runs the proposal again."""

    RUNNING = "running"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class PendingTrial:
    """A proposal the strategy had made but not yet observed when the checkpoint was taken."""

    #: Order in which the strategy proposed it.
    seq: int
    arch: str
    actions: tuple[int, ...]
    info: dict[str, float] = field(default_factory=dict)
    #: Workers lost while training it so far (counts toward ``--max-retries``).
    attempts: int = 0
    state: PendingState = PendingState.RUNNING


@dataclass(frozen=True)
class FinalRecord:
    """A top architecture retrained on train+validation and scored on the test split."""

    arch: str
    rank: int
    val_acc: float
    test_acc: float
    epochs: int
    seconds: float
    result: dict[str, Any] = field(default_factory=dict)


class Store:
    """A run's trials, result cache, strategy checkpoint and final scores."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        """Open (and create, unless ``readonly``) the store at ``path``. ``readonly``: for
        reading a run while a search writes it, or a run on read-only media. Raises
        :class:`StoreError` for a file that is no store, or a store that cannot be written
        (or, read-only, does not exist)."""
        self.path = Path(path)
        self.readonly = readonly
        try:
            if readonly:
                self._db = _open_readonly(self.path)
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not os.access(self.path.parent, os.W_OK):
                raise PermissionError(f"{self.path.parent} is read-only")
            self._db = sqlite3.connect(self.path, isolation_level=None)  # explicit transactions
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable against process kills
            self._db.executescript(f"BEGIN IMMEDIATE;\n{_SCHEMA}\nCOMMIT;")  # all or nothing
        except (sqlite3.DatabaseError, OSError) as error:
            raise StoreError(_why(self.path, error)) from None
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has store schema {version}; this rlnas reads {SCHEMA_VERSION}"
            )

    @contextmanager
    def snapshot(self) -> Iterator[Store]:
        """Reads inside see one consistent state of the store, even while another process
        commits trials (a read transaction: SQLite's WAL gives it a snapshot)."""
        self._db.execute("BEGIN")
        try:
            yield self
        finally:
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as db:
            _set_meta(db, {key: value})

    def add_trial(
        self,
        trial: TrialRecord,
        *,
        fingerprint: str,
        checkpoint: dict[str, Any] | None = None,
        checkpoint_name: str = "strategy",
        pending: Sequence[PendingTrial] | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> None:
        """Commit ``trial``, its cache entry, the strategy checkpoint, (unless None) the
        proposals still out, replacing the stored ones, and ``meta`` entries, atomically."""
        r = trial.result
        with self._transaction() as db:
            db.execute(
                "INSERT INTO trials VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    trial.id, trial.arch, json.dumps(list(trial.actions)), r.status.value,
                    trial.reward, r.val_acc, r.params, r.flops, r.seconds, int(trial.new),
                    json.dumps(trial.info, sort_keys=True), r.to_json(),
                    trial.created or time.time(),
                ),
            )  # fmt: skip
            if trial.new:
                db.execute(
                    "INSERT OR IGNORE INTO cache VALUES (?, ?, ?)",
                    (fingerprint, trial.arch, r.to_json()),
                )
            if checkpoint is not None:
                db.execute(
                    "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?)",
                    (checkpoint_name, trial.id, pickle.dumps(checkpoint, protocol=5)),
                )
            if pending is not None:
                _replace_pending(db, pending)
            _set_meta(db, meta)

    def save_pending(
        self,
        pending: Sequence[PendingTrial],
        *,
        checkpoint: dict[str, Any],
        trial_id: int,
        checkpoint_name: str = "strategy",
        meta: Mapping[str, str] | None = None,
    ) -> None:
        """Replace the checkpoint (still taken after trial ``trial_id``) and the proposals
        out, and set ``meta`` entries, atomically: for a stop between trials, when the
        strategy has proposed more."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?)",
                (checkpoint_name, trial_id, pickle.dumps(checkpoint, protocol=5)),
            )
            _replace_pending(db, pending)
            _set_meta(db, meta)

    def pending(self) -> list[PendingTrial]:
        """The proposals out at the last checkpoint, in the order they were made."""
        rows = self._db.execute(
            "SELECT seq, arch, actions, info, attempts, state FROM pending ORDER BY seq"
        ).fetchall()
        return [
            PendingTrial(seq, arch, tuple(json.loads(acts)), json.loads(info), n, PendingState(st))
            for seq, arch, acts, info, n, st in rows
        ]

    def interrupt_pending(self) -> int:
        """Mark the proposals out as interrupted (Ctrl-C); how many there were."""
        with self._transaction() as db:
            cursor = db.execute("UPDATE pending SET state = ?", (PendingState.INTERRUPTED.value,))
            return cursor.rowcount

    def trials(self) -> list[TrialRecord]:
        """Every committed trial, in order."""
        rows = self._db.execute(f"SELECT {_TRIAL_COLUMNS} FROM trials ORDER BY id")
        with no_collection():
            return [_trial(row) for row in rows]

    def count_trials(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])

    def leaderboard(self, limit: int) -> list[TrialRecord]:
        """The first ``limit`` rows of :func:`rlnas.runs.leaderboard` (one trial per
        architecture, its first; the finals in rank order, then best reward first,
        failures last), chosen by SQLite: a 100,000-trial run decodes ``limit`` rows."""
        rows = self._db.execute(
            f"SELECT {_TRIAL_COLUMNS} FROM trials "
            "JOIN (SELECT MIN(id) AS first FROM trials GROUP BY arch) ON id = first "
            "LEFT JOIN finals USING (arch) "
            "ORDER BY rank IS NULL, COALESCE(rank, 0), status != 'ok', reward DESC, id LIMIT ?",
            (limit,),
        )
        return [_trial(row) for row in rows]

    def cache(self, fingerprint: str) -> dict[str, EvalResult]:
        """Every cached result for evaluators with this fingerprint, by architecture string."""
        rows = self._db.execute(
            "SELECT arch, result FROM cache WHERE fingerprint = ?", (fingerprint,)
        ).fetchall()
        return {arch: EvalResult.from_json(text) for arch, text in rows}

    def checkpoint(self, name: str = "strategy") -> tuple[int, dict[str, Any]] | None:
        """The last checkpoint and the id of the trial it was taken after, if any."""
        row = self._db.execute(
            "SELECT trial_id, state FROM checkpoints WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else (int(row[0]), pickle.loads(row[1]))

    def add_final(self, final: FinalRecord) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO finals VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    final.arch, final.rank, final.val_acc, final.test_acc,
                    final.epochs, final.seconds, json.dumps(final.result, sort_keys=True),
                ),
            )  # fmt: skip

    def add_shortlisted(self, arch: str, score: ShortlistScore) -> None:
        """Store the re-ranking score of one architecture of the shortlist."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO shortlist VALUES (?, ?)",
                (arch, json.dumps(asdict(score), sort_keys=True)),
            )

    def shortlist(self) -> dict[str, ShortlistScore]:
        """The re-ranking scores stored so far, by architecture."""
        rows = self._db.execute("SELECT arch, score FROM shortlist ORDER BY arch").fetchall()
        return {row[0]: ShortlistScore(**json.loads(row[1])) for row in rows}

    def finals(self) -> list[FinalRecord]:
        rows = self._db.execute(
            "SELECT arch, rank, val_acc, test_acc, epochs, seconds, result "
            "FROM finals ORDER BY rank"
        ).fetchall()
        return [
            FinalRecord(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]))
            for row in rows
        ]


_TRIAL_COLUMNS = "id, trials.arch, actions, reward, trials.result, new, info, created"


def _trial(row: Sequence[Any]) -> TrialRecord:
    id_, arch, actions, reward, result, new, info, created = row  # _TRIAL_COLUMNS
    return restore(TrialRecord, {
        "id": id_, "arch": arch, "actions": tuple(json.loads(actions)), "reward": reward,
        "result": EvalResult.from_json(result), "new": bool(new), "info": json.loads(info),
        "created": created,
    })  # fmt: skip


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection; in a read-only folder, where SQLite cannot make the WAL's
    shared-memory file, one that treats the file as immutable (nobody can write it)."""
    if not path.is_file():
        raise StoreError(f"{path} does not exist")
    for flags in ("mode=ro", "immutable=1"):
        db = sqlite3.connect(f"{path.resolve().as_uri()}?{flags}", uri=True, isolation_level=None)
        try:
            db.execute("SELECT COUNT(*) FROM meta").fetchone()
            return db
        except sqlite3.OperationalError:
            db.close()
            if flags == "immutable=1":
                raise
    raise AssertionError("unreachable")


def _why(path: Path, error: Exception) -> str:
    """One line on why the store at ``path`` cannot be opened."""
    text = str(error)
    if "readonly" in text or "read-only" in text or isinstance(error, PermissionError):
        return f"cannot write to {path}: its folder is read-only; choose a writable --run-dir"
    if "unable to open" in text:
        return f"cannot open {path}: {text}; check that its folder exists and is writable"
    return f"{path} is not an rlnas trial store ({text})"


def _set_meta(db: sqlite3.Connection, meta: Mapping[str, str] | None) -> None:
    for key, value in (meta or {}).items():
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def _replace_pending(db: sqlite3.Connection, pending: Sequence[PendingTrial]) -> None:
    db.execute("DELETE FROM pending")
    db.executemany(
        "INSERT INTO pending VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                p.seq,
                p.arch,
                json.dumps(list(p.actions)),
                json.dumps(p.info, sort_keys=True),
                p.attempts,
                PendingState(p.state).value,
            )
            for p in pending
        ],
    )
