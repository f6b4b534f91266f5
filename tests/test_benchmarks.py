"""Benchmark scripts run end to end at a tiny scale (their full runs are in RESULTS.md)."""

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
def test_proxy_correlation_runs_on_digits():
    out = run(
        "proxy_correlation.py", "--dataset", "digits", "--subset", "400", "--archs", "5",
        "--epochs", "3", "--final-epochs", "2", "--max-params", "20000", "--json",
    )  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    assert -1 <= result["spearman"] <= 1 and result["archs"] == 5
    assert 0 < result["best_final"] <= 1
