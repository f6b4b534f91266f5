"""Where a run lives, and whether a search may continue in it.

A run directory holds one search. ``--resume`` continues it with the settings it was
started with; only where and how it runs, and what follows the search, may change.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path

from rlnas.config import ConfigError, SearchConfig
from rlnas.store import Store

__all__ = [
    "AFTER_SEARCH",
    "RESUMABLE",
    "SEARCH_SECONDS",
    "check_resumable",
    "default_run_dir",
    "removed_unless_started",
    "run_lock",
]

#: ``meta`` key: the seconds searched so far, over every session (a resumed search gets
#: what is left of its time limit)
SEARCH_SECONDS = "search_seconds"
#: Settings that may differ when a run is resumed.
RESUMABLE = {"time_limit", "run_dir", "device", "threads", "data_dir"}
#: Where and how trials run: may change on resume too (results do not depend on it).
RESUMABLE |= {"executor", "workers", "ray_address", "cpus_per_trial", "gpus_per_trial"}
RESUMABLE |= {"max_retries", "trial_timeout"}
#: What happens after the search: may change on resume (to retrain more, or otherwise);
#: so may ``top_k`` unless ``prune`` uses it during the search.
AFTER_SEARCH = {"final_epochs", "final_recipe", "final_settings", "shortlist", "shortlist_epochs"}


def default_run_dir(config: SearchConfig) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dataset = config.dataset.replace(":", "-").replace("/", "_")
    return Path("runs") / f"{dataset}-{config.strategy}-{stamp}"


def check_resumable(store: Store, config: SearchConfig, resume: bool, run_dir: Path) -> None:
    """Raise :class:`ConfigError` unless ``config`` may start (``resume`` False, empty
    store) or continue (``resume`` True, a search with the same settings) in ``run_dir``.

    A setting the stored config does not have (a run made by an older version) counts as
    its default, so older runs resume unchanged.
    """
    stored_text = store.get_meta("config")
    if stored_text is None:
        if resume:
            raise ConfigError(f"nothing to resume in {run_dir}: it holds no search")
        return
    if not resume:
        raise ConfigError(
            f"{run_dir} already holds a search; pass --resume to continue it "
            "or choose another --run-dir"
        )
    stored = {**asdict(SearchConfig()), **json.loads(stored_text)}
    free = RESUMABLE | AFTER_SEARCH | (set() if config.prune else {"top_k"})
    for key in (f.name for f in fields(SearchConfig)):
        value = getattr(config, key)
        if key not in free and stored.get(key) != _plain(value):
            raise ConfigError(
                f"cannot resume with {key}={value!r}: the run was started with "
                f"{key}={stored.get(key)!r}; drop the option or start a new --run-dir"
            )


def _plain(value: object) -> object:
    """``value`` as the stored JSON config holds it."""
    return json.loads(json.dumps(value))


@contextmanager
def removed_unless_started(run_dir: Path) -> Iterator[None]:
    """Remove ``run_dir`` again if it did not exist before and the search fails before it
    stores its settings (``RUN/config.json``): a search that could not start (missing
    data, limits no architecture fits) leaves no empty run directory behind. A search
    that started keeps its directory, to be resumed."""
    fresh = not run_dir.exists()
    try:
        yield
    except BaseException:
        if fresh and not (run_dir / "config.json").exists():
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold ``RUN/search.lock`` while a search runs in ``run_dir``: a second search of the
    same run (two ``--resume`` at once) is refused with a one-line :class:`ConfigError`,
    so a run never has two writers. The operating system releases the lock when the
    process ends, however it ends (a SIGKILL included). Readers (``show``, ``report``)
    take no lock."""
    import fcntl

    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        handle = (run_dir / "search.lock").open("a+")
    except OSError as error:
        raise ConfigError(
            f"cannot write to {run_dir} ({error.strerror}); choose a writable --run-dir"
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ConfigError(
                f"{run_dir} is being searched right now ({holder}); wait for that search "
                "to end, or stop it, before resuming it"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
