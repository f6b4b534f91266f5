"""`rlnas search` keeps the report current while it runs, cheaply, and finishes it."""

import io
import re

import pytest

from rlnas.cli import main
from rlnas.config import SearchConfig
from rlnas.report import ReportMonitor
from rlnas.search import run_search
from rlnas.spaces import make_space
from rlnas.testing import FakeEvaluator, write_image_folder

SPACE = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)


class Recording(ReportMonitor):
    """Reads the page back after every write."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.pages = []

    def write(self, *, live, png=False):
        super().write(live=live, png=png)
        html = (self.run_dir / "report.html").read_text()
        trials = int(re.search(r"trials<br><b>(\d+)</b>", html).group(1))
        pngs = sorted(p.name for p in (self.run_dir / "plots").glob("*.png"))
        self.pages.append((trials, "http-equiv" in html, pngs))


def search(tmp_path, monitor, budget=20):
    config = SearchConfig(budget=budget, seed=1, top_k=2, run_dir=str(tmp_path / "run"))
    return run_search(config, evaluator=FakeEvaluator(SPACE, seed=1), monitor=monitor)


def test_the_report_is_refreshed_during_the_search_and_finished_at_the_end(tmp_path):
    monitor = Recording(min_interval=0.0, cost_factor=0.0)
    summary = search(tmp_path, monitor)
    live, final = monitor.pages[:-1], monitor.pages[-1]
    assert live[0] == (0, True, [])  # written at the start: the user can open it at once
    counts = [trials for trials, _, _ in live]
    assert counts == sorted(counts) and len(set(counts)) > 10  # refreshed as trials came
    assert all(reloads and not pngs for _, reloads, pngs in live)
    assert final[0] == len(summary.trials) and not final[1]  # complete, no longer reloading
    assert "rewards.png" in final[2] and "learning_curves.png" in final[2]


def test_refreshes_are_throttled(tmp_path):
    seldom = Recording(min_interval=3600.0, cost_factor=0.0, png=False)
    search(tmp_path / "a", seldom)
    assert len(seldom.pages) == 2  # at the start and at the end only
    costly = Recording(min_interval=0.0, cost_factor=1e9, png=False)  # writes seem to cost
    search(tmp_path / "b", costly)
    assert len(costly.pages) == 2
    eager = Recording(min_interval=0.0, cost_factor=0.0, png=False)
    search(tmp_path / "c", eager)
    trials = len(search(tmp_path / "d", None).trials)
    assert len(eager.pages) == 1 + trials + 2 + 1  # start, each trial, each of the top 2, end


def test_a_failing_report_never_stops_the_search(tmp_path, monkeypatch):
    def broken(*args, **kw):
        raise OSError("disk full")

    monkeypatch.setattr("rlnas.report.monitor.write_report", broken)
    stream = io.StringIO()
    summary = search(tmp_path, ReportMonitor(min_interval=0.0, stream=stream), budget=10)
    assert summary.stopped == "budget" and len(summary.trials) >= 10
    assert stream.getvalue() == "rlnas: warning: report not written: disk full\n"


@pytest.mark.slow
def test_rlnas_search_writes_the_report(tmp_path, capsys):
    data = write_image_folder(tmp_path / "bands", per_class=12)
    config = tmp_path / "tiny.toml"
    config.write_text(
        f'dataset = "folder:{data}"\nbudget = 2\nepochs = 1\nfinal_epochs = 1\ntop_k = 1\n'
        'device = "cpu"\nthreads = 1\n[space]\nfilters = [4]\nmax_depth = 2\n'
        "[train]\nbatch_size = 16\nrestart_margin = -1.0\n"
    )
    run = tmp_path / "run"
    assert main(["search", "--config", str(config), "--run-dir", str(run)]) == 0
    assert f"report: {run / 'report.html'}" in capsys.readouterr().err
    html = (run / "report.html").read_text()
    assert "http-equiv" not in html and html.count('<div class="drawing">') >= 1
    assert (run / "plots" / "best_by_trial.png").is_file()
    assert main(["search", "--config", str(config), "--run-dir", str(tmp_path / "quiet"),
                 "--no-report"]) == 0  # fmt: skip
    assert not (tmp_path / "quiet" / "report.html").exists()
