"""What a user sees while a search runs: a progress bar on a terminal (trials done of the
budget, epsilon, best so far, elapsed and remaining time), one clean line per trial else."""

import io
import re

import pytest

from rlnas.config import SearchConfig
from rlnas.report.console import ConsoleMonitor, remaining_seconds
from rlnas.search import SearchStatus, run_search
from rlnas.spaces import make_space
from rlnas.testing import FakeEvaluator

SPACE = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def search(tmp_path, stream, budget=12):
    config = SearchConfig(budget=budget, seed=0, top_k=1, run_dir=str(tmp_path / "run"))
    monitor = ConsoleMonitor(stream)
    return run_search(config, evaluator=FakeEvaluator(SPACE, seed=1), monitor=monitor)


def test_not_a_terminal_one_clean_line_per_trial(tmp_path):
    stream = io.StringIO()
    summary = search(tmp_path, stream)
    lines = stream.getvalue().splitlines()
    trial_lines = [line for line in lines if line.startswith("trial")]
    assert len(trial_lines) == len(summary.trials)
    for line, trial in zip(trial_lines, summary.trials, strict=True):
        assert line.endswith(trial.arch)  # brackets and all: nothing taken for markup
        assert "/12" in line and f"eps {trial.info['epsilon']:.2f}" in line and "best" in line
    assert "\x1b[" not in stream.getvalue()  # no escape codes in a log file
    assert lines[-2].startswith("stopped (budget)") and lines[-1].startswith("see: rlnas show")


def test_on_a_terminal_a_bar_with_epsilon_best_and_time_left(tmp_path):
    stream = Terminal()
    search(tmp_path, stream)
    screen = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", stream.getvalue())
    assert "12/12" in screen and "eps " in screen and "best 0." in screen
    assert re.search(r"\d:\d\d:\d\d left \d:\d\d:\d\d", screen)
    assert not any(line.startswith("trial ") for line in screen.splitlines())


@pytest.mark.parametrize(
    ("trained", "at_start", "elapsed", "limit", "expected"),
    [
        (4, 0, 20.0, None, 30.0),  # 6 more at 5 s each
        (4, 0, 20.0, 25.0, 5.0),  # the time limit comes first
        (4, 4, 20.0, None, None),  # nothing trained in this session yet: no pace known
        (6, 4, 10.0, None, 20.0),  # resumed: the pace of this session only
    ],
)
def test_remaining_time(trained, at_start, elapsed, limit, expected):
    left = None if limit is None else limit - elapsed
    status = SearchStatus(trained, 10, trained, 0.5, "[SM(10)]", elapsed, time_left=left)
    assert remaining_seconds(status, at_start) == expected
