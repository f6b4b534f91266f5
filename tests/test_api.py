"""The Python API a user meets first: lazy top-level names, ask/tell for their own training
loop (stored and resumable like a CLI run), and search spaces written in Python with
hyper-parameters searched beside the layers."""

import subprocess
import sys

import pytest

import rlnas
from rlnas.arch import GAP, Conv, Pool, Softmax, parse
from rlnas.cli import main
from rlnas.config import SearchConfig
from rlnas.data import load_dataset, split_dataset
from rlnas.evaluation.image import TrainConfig, train
from rlnas.search import Search, run_search
from rlnas.spaces import Choice, ChoiceSpace, register_space
from rlnas.strategies import STRATEGIES
from rlnas.testing import FakeEvaluator, check_space, check_strategy


def test_the_top_level_names_load_lazily_and_without_torch():
    code = (
        "import sys, rlnas; names = [rlnas.run_search, rlnas.SearchConfig, rlnas.make_strategy,"
        " rlnas.Search, rlnas.make_space]; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    with pytest.raises(AttributeError):
        rlnas.no_such_name  # noqa: B018


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"rlnas {rlnas.__version__}"


def truth(arch):
    """A hidden score the user's "training" returns: deeper with wider convs is better."""
    return 0.5 + 0.05 * sum(getattr(layer, "filters", 0) / 32 for layer in arch.layers)


def test_ask_tell_learns_stores_and_resumes_exactly(tmp_path):
    def run(run_dir, stop_after=None):
        with Search(run_dir, space="metaqnn-tiny", input_shape=(1, 8, 8), budget=40, seed=3,
                    strategy="evolution") as study:  # fmt: skip
            while not study.done:
                if stop_after is not None and len(study.results) >= stop_after:
                    study.ask()  # asked, never told: the process "dies" here
                    return study
                arch = study.ask()
                study.tell(arch, truth(arch), seconds=1.0)
            return study

    whole = run(tmp_path / "whole")
    assert len(whole.results) == 40 and whole.best.reward == max(t.reward for t in whole.trials)
    run(tmp_path / "cut", stop_after=17)
    resumed = run(tmp_path / "cut")
    assert [(t.arch, t.reward, t.new) for t in resumed.trials] == [
        (t.arch, t.reward, t.new) for t in whole.trials
    ]
    assert main(["show", str(tmp_path / "whole")]) == 0  # the CLI reads it like any run


def test_tell_refuses_what_was_not_asked_and_records_failures(tmp_path):
    with Search(tmp_path / "r", space="metaqnn-tiny", input_shape=(1, 8, 8), budget=3) as study:
        with pytest.raises(ValueError, match="was not asked"):
            study.tell(parse("[C(8,3,1), SM(10)]"), 0.9)
        arch = study.ask()
        study.tell(arch, None, failed="out of memory on my GPU")
        assert study.trials[-1].result.error == "out of memory on my GPU"
        assert study.trials[-1].reward == pytest.approx(0.1)


SPACE = ChoiceSpace(
    [
        Choice("conv1", [Conv(8, 3), Conv(16, 3), Conv(16, 5)]),
        Choice("pool1", [Pool(2, 2), None]),
        Choice("conv2", [Conv(16, 3), Conv(32, 3), None]),
        Choice("head", [GAP(10), Softmax(10)]),
    ],
    hyper={"learning_rate": [1e-4, 1e-3, 3e-3], "batch_size": [32, 128]},
)


def test_a_python_defined_space_passes_the_space_suite_and_every_strategy_suite():
    check_space(SPACE)
    assert len(SPACE.architectures()) == 3 * 2 * 3 * 2 * 3 * 2
    for name in STRATEGIES:
        check_strategy(
            STRATEGIES[name], SPACE, trials=12, **({"num_epochs": 2} if name == "enas" else {})
        )


def test_every_strategy_searches_it_and_finds_the_fake_optimum_through_the_cli_loop(tmp_path):
    register_space("python-choices", lambda **_: SPACE)
    fake = FakeEvaluator(SPACE, seed=2)
    config = SearchConfig(space="python-choices", strategy="qlearning", budget=150, top_k=0,
                          run_dir=str(tmp_path))  # fmt: skip
    summary = run_search(config, evaluator=fake)
    assert max(t.reward for t in summary.trials) == 1.0


def test_searched_hyper_parameters_set_the_training():
    split = split_dataset(load_dataset("digits"), seed=0)
    base = TrainConfig(epochs=2, max_restarts=0, restart_margin=-1.0)
    data, val = (split.x_train, split.y_train), (split.x_val, split.y_val)
    slow = train(parse("[LR(1), C(8,3,1), SM(10)]"), data, val, num_classes=10, config=base, seed=0)
    fast = train(
        parse("[LR(3000), C(8,3,1), SM(10)]"), data, val, num_classes=10, config=base, seed=0
    )
    assert fast.best_val > slow.best_val + 0.3  # 3e-3 learns in two epochs; 1e-6 does not
    batches = train(parse("[BS(4096), C(8,3,1), SM(10)]"), data, val, num_classes=10,
                    config=base, seed=0)  # fmt: skip
    assert batches.best_val < fast.best_val  # one step per epoch: far less learned


def test_the_readme_python_example_runs(tmp_path, monkeypatch):
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    block = readme.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    assert (tmp_path / "runs" / "mine" / "trials.db").is_file()
    assert main(["show", str(tmp_path / "runs" / "mine")]) == 0
