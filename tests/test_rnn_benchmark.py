"""The recurrent-cell benchmark runs end to end at a tiny scale (full run: RESULTS.md)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rlnas.testing import write_text

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_cells_and_equal_size_lstms_are_compared_side_by_side(tmp_path):
    text = write_text(tmp_path / "chain.txt", words=3000)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "rnn_cells.py"), "--tiny", "--text", str(text),
         "--strategies", "reinforce,enas", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [r["strategy"] for r in rows] == ["reinforce", "enas"]
    for r in rows:
        assert 1 < r["cell_test_ppl"] < 30 and 1 < r["lstm_test_ppl"] < 30
        assert abs(r["cell_params"] - r["lstm_params"]) < 0.05 * r["cell_params"]
    assert rows[0]["lstm_test_ppl"] == rows[1]["lstm_test_ppl"]  # one baseline per seed
    assert "| reinforce | 0 |" in proc.stdout and "cell better in" in proc.stdout
