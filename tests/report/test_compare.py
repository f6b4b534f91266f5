"""Several runs on one page, the report's marks and axes, and TensorBoard logging."""

from rlnas.cli import main
from rlnas.config import SearchConfig
from rlnas.report.charts import build_charts
from rlnas.report.data import load_run
from rlnas.search import run_search


def tabular(run_dir, strategy, budget=15):
    config = SearchConfig(dataset="tabular:digits-tiny", strategy=strategy, budget=budget,
                          top_k=1, run_dir=str(run_dir))  # fmt: skip
    run_search(config)
    return run_dir


def test_report_of_several_runs_is_one_comparison_page(tmp_path, capsys):
    runs = [tabular(tmp_path / name, name) for name in ("random", "evolution")]
    out = tmp_path / "both.html"
    assert main(["report", *map(str, runs), "--out", str(out)]) == 0
    page = out.read_text()
    assert page.count("<svg") == 3 and "random on tabular:digits-tiny" in page
    assert "evolution on tabular:digits-tiny" in page and page.count("<tr>") == 3
    assert main(["report", str(runs[0]), str(tmp_path / "nothing")]) == 2  # one line, exit 2


def test_failed_trials_are_marked_and_counts_have_whole_number_ticks(tmp_path):
    run = load_run(tabular(tmp_path / "r", "random", budget=60))
    charts = {c.key: c for c in build_charts(run)}
    failed = [s for s in charts["rewards"].series if s.name.startswith("failed")]
    assert failed and len(failed[0].x) == sum(not t.result.ok for t in run.trials if t.new) > 0
    assert charts["learning_curves"].x_integer and charts["rewards"].x_integer
    assert not charts["accuracy_vs_params"].x_integer


def test_tensorboard_gets_every_trial_and_every_curve(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logs, run = tmp_path / "tb", tmp_path / "run"
    code = main(["search", "--dataset", "tabular:digits-tiny", "--budget", "5", "--top-k", "1",
                 "--run-dir", str(run), "--tensorboard", str(logs), "--no-report"])  # fmt: skip
    assert code == 0
    events = EventAccumulator(str(logs))
    events.Reload()
    tags = events.Tags()["scalars"]
    trials = load_run(run).trials
    assert len(events.Scalars("search/reward")) == len(trials)
    assert f"curves/trial_{trials[0].id:05d}" in tags and "final/test_acc" in tags
