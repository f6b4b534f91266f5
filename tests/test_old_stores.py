"""Run stores written by rlnas 0.1 before the house redesign still open, show and resume.

The stores in ``tests/fixtures/v0_1`` were written by that code (``make.py`` there): for
each strategy an uninterrupted search and the same search stopped by Ctrl-C half way. The
half-way store, resumed by today's code, must end as the old code's uninterrupted run did,
trial by trial: the checkpoint it restores and every result after it are unchanged.
"""

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rlnas.config import SearchConfig
from rlnas.search import run_search
from rlnas.spaces import make_space
from rlnas.store import Store
from rlnas.testing import FakeEvaluator

FIXTURES = Path(__file__).parent / "fixtures" / "v0_1"
CASES = sorted(p.name.removesuffix("-partial.db") for p in FIXTURES.glob("*-partial.db"))


def evaluator(space_name):
    """The evaluator ``make.py`` used."""
    classes = 50 if space_name == "rnn-cell" else 10
    space = make_space(space_name, input_shape=(1, 8, 8), num_classes=classes)
    return FakeEvaluator(space, seed=1, noise=0.02)


def stored(db):
    with Store(db) as store:
        trials = [dataclasses.replace(t, created=0.0) for t in store.trials()]
        finals = [dataclasses.replace(f, seconds=0.0) for f in store.finals()]
        return trials, finals, json.loads(store.get_meta("config") or "{}")


def test_every_strategy_has_an_old_store():
    assert len(CASES) == 7


@pytest.mark.parametrize("name", CASES)
def test_an_old_half_way_store_resumes_to_the_old_uninterrupted_run(tmp_path, name):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(FIXTURES / f"{name}-partial.db", run / "trials.db")
    half, _, values = stored(run / "trials.db")
    whole, finals, _ = stored(FIXTURES / f"{name}-full.db")
    assert 0 < len(half) < len(whole)
    config = dataclasses.replace(SearchConfig.from_dict(values), run_dir=str(run))
    run_search(config, resume=True, evaluator=evaluator(config.space))
    trials, resumed_finals, _ = stored(run / "trials.db")
    # Trial by trial the same; the strategies' diagnostics (a policy's entropy, computed
    # in float32) only to float32's precision: the fixtures were written on another CPU.
    assert [dataclasses.replace(t, info={}) for t in trials] == [
        dataclasses.replace(t, info={}) for t in whole
    ]
    assert [t.info for t in trials] == [pytest.approx(t.info, rel=1e-6) for t in whole]
    assert resumed_finals == finals


def test_show_and_report_read_an_old_store(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(FIXTURES / "qlearning-full.db", run / "trials.db")
    trials, finals, _ = stored(run / "trials.db")
    out = subprocess.run(
        [sys.executable, "-m", "rlnas", "show", str(run), "--json", "--top", "100"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    shown = json.loads(out.stdout)
    assert [r["arch"] for r in shown[:2]] == [f.arch for f in finals]
    assert shown[0]["test_acc"] == finals[0].test_acc
    assert {r["arch"] for r in shown} == {t.arch for t in trials}
    subprocess.run(
        [sys.executable, "-m", "rlnas", "report", str(run), "--no-png"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert finals[0].arch in (run / "report.html").read_text()
