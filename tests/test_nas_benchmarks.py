"""The NAS-RL/ENAS benchmark scripts run end to end at a tiny scale (full runs: RESULTS.md)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(script: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
def test_equal_wall_time_comparison_runs_and_enas_evaluates_far_more(tmp_path):
    # ENAS's shortest phase (one shared epoch and the ranking) takes ~6 s here, twice that
    # on a loaded CI machine: 15 s leave time to train its children.
    out = tmp_path / "rows.json"
    run(
        "nas_strategies.py", "--dataset", "digits", "--minutes", "0.25", "--subset", "300",
        "--epochs", "1", "--final-epochs", "1", "--threads", "1", "--enas-share", "0.3",
        "--runs", "reinforce:enas-macro,enas:enas-macro,qlearning:metaqnn", "--json", str(out),
        "--keep", str(tmp_path / "runs"),
    )  # fmt: skip
    assert (tmp_path / "runs" / "enas-enas-macro" / "trials.db").exists()
    reinforce, enas, qlearning = json.loads(out.read_text())
    assert (reinforce["strategy"], enas["strategy"]) == ("reinforce", "enas")
    # every from-scratch run uses its time, Q-learning too (past its schedule if need be)
    assert reinforce["stopped"] == qlearning["stopped"] == "time limit"
    assert reinforce["trained"] >= 1 and enas["trained"] >= 1
    assert enas["evaluated_per_minute"] > 5 * reinforce["evaluated_per_minute"]


def test_fake_learning_table_runs():
    out = run("fake_learning.py", "--budget", "20", "--seeds", "1", "random", "reinforce")
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + 2 and rows[2].startswith("| random | defaults |")
