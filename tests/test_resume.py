"""A search killed with SIGKILL at any moment, then resumed, equals one never interrupted."""

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from rlnas.store import Store

ARGS = [
    "search", "--budget", "6", "--epochs", "1", "--final-epochs", "1", "--top-k", "2",
    "--seed", "3", "--device", "cpu", "--threads", "1", "--no-report",
]  # fmt: skip


def command(run_dir, *extra):
    return [sys.executable, "-m", "rlnas", *ARGS, "--run-dir", str(run_dir), *extra]


def committed(db):
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet


def stored(run_dir):
    """Everything stored, less wall-clock times."""
    with Store(run_dir / "trials.db") as store:
        trials = [
            dataclasses.replace(t, created=0.0, result=dataclasses.replace(t.result, seconds=0.0))
            for t in store.trials()
        ]
        finals = [dataclasses.replace(f, seconds=0.0) for f in store.finals()]
        return trials, finals, store.checkpoint()


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted_and_same_seed_is_identical(tmp_path):
    subprocess.run(command(tmp_path / "a"), check=True, capture_output=True, timeout=600)
    whole = stored(tmp_path / "a")
    assert len(whole[1]) == 2
    # The killed run is a second run of the same seed: its trials before the kill must
    # equal the first run's (determinism), and those after the resume too (nothing lost).
    # (Kills at many moments, shortlist and finals included: tests/test_faults.py.)
    for kill_after in (3,):
        run = tmp_path / f"killed{kill_after}"
        proc = subprocess.Popen(command(run), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 300
        while committed(run / "trials.db") < kill_after and proc.poll() is None:
            assert time.time() < deadline
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert committed(run / "trials.db") < len(whole[0]), "killed too late to test anything"
        subprocess.run(command(run, "--resume"), check=True, capture_output=True, timeout=600)
        assert stored(run) == whole
