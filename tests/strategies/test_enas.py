"""ENAS: the weight-sharing phase learns, is checkpointed each epoch and resumes exactly;
its ranked candidates become ordinary trials."""

import dataclasses

import numpy as np
import pytest

from rlnas.arch import parse
from rlnas.cli import main
from rlnas.config import ConfigError, SearchConfig
from rlnas.evaluation.base import Evaluator
from rlnas.search import run_search
from rlnas.spaces import make_space
from rlnas.store import Store
from rlnas.testing import FakeEvaluator, FakeSharedWeights

SPACE = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
PHASE = {"num_epochs": 3, "controller_train_steps": 4, "batch_size": 5, "num_candidates": 30}


class Crash(Exception):
    pass


class CrashingShared(FakeSharedWeights):
    def __init__(self, fake, *, seed, after):
        super().__init__(fake, seed=seed)
        self.after = after
        self.computed = 0  # scores computed by this object (not restored from a checkpoint)

    def score(self, arch):
        if self.calls >= self.after:
            raise Crash
        self.computed += 1
        return super().score(arch)


class Fake(FakeEvaluator):
    """The fake evaluator; its shared weights die (like a killed process) at a given call."""

    def __init__(self, crash_after=None):
        super().__init__(SPACE, seed=1, noise=0.02)
        self.crash_after = crash_after

    def shared_weights(self, space, config, *, seed):
        self.shared = CrashingShared(self, seed=seed, after=self.crash_after or 10**9)
        return self.shared


def canonical(value):
    """``value`` with numpy arrays as (dtype, shape, bytes), so that == compares them."""
    if isinstance(value, np.ndarray):
        return (str(value.dtype), value.shape, value.tobytes())
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(canonical(v) for v in value)
    return value


def stored(run_dir):
    with Store(run_dir / "trials.db") as store:
        trials = [dataclasses.replace(t, created=0.0) for t in store.trials()]
        return trials, canonical(store.checkpoint())


def test_a_crash_in_the_phase_or_the_trials_resumes_to_the_uninterrupted_run(tmp_path):
    config = SearchConfig(strategy="enas", budget=12, seed=4, top_k=2, strategy_settings=PHASE)
    whole = dataclasses.replace(config, run_dir=str(tmp_path / "whole"))
    summary = run_search(whole, evaluator=Fake())
    with Store(tmp_path / "whole" / "trials.db") as store:
        state = store.checkpoint()[1]
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3]
    assert "shared" not in state  # the shared weights are not needed after the ranking
    accs = [t.info["shared_acc"] for t in summary.trials]
    assert accs == sorted(accs, reverse=True)  # proposed best first under shared weights
    assert len({t.arch for t in summary.trials}) == 12 == sum(t.new for t in summary.trials)
    assert summary.trials[-1].info["evaluated"] >= 3 * 4 * 5 + 12
    assert len(summary.finals) == 2  # retrained like any strategy's trials
    for crash_after in (7, 33):  # in epoch 1 and in epoch 2 of the phase
        run = dataclasses.replace(config, run_dir=str(tmp_path / f"phase{crash_after}"))
        with pytest.raises(Crash):
            run_search(run, evaluator=Fake(crash_after))
        with Store(tmp_path / f"phase{crash_after}" / "trials.db") as store:
            kept = store.checkpoint()
        epochs_done = crash_after // 20  # 4 steps of 5 children per epoch
        assert (kept is None) if not epochs_done else len(kept[1]["history"]) == epochs_done
        resumed = Fake()
        run_search(run, resume=True, evaluator=resumed)
        assert resumed.shared.computed == 3 * 20 - 20 * epochs_done  # no epoch done twice
        assert stored(tmp_path / f"phase{crash_after}") == stored(tmp_path / "whole")


def test_on_digits_the_controller_reward_rises_over_a_few_epochs(tmp_path):
    settings = {
        "num_epochs": 4, "controller_train_steps": 5, "batch_size": 8, "child_batch_size": 32,
    }  # fmt: skip
    config = SearchConfig(
        strategy="enas", space="enas-macro", budget=1, epochs=1, top_k=0, seed=0,
        device="cpu", threads=1, run_dir=str(tmp_path), strategy_settings=settings,
        space_settings={"num_layers": 4, "filters": [8, 16]},
    )  # fmt: skip
    summary = run_search(config)
    with Store(tmp_path / "trials.db") as store:
        history = store.checkpoint()[1]["history"]
    rewards = [h["reward"] for h in history]
    assert len(rewards) == 4
    assert rewards[-1] > rewards[0] + 0.05, rewards  # from chance (0.1) upwards
    assert history[-1]["shared_loss"] < history[0]["shared_loss"]
    (trial,) = summary.trials
    assert trial.new and trial.info["evaluated"] == 4 * 5 * 8 + 100
    space = make_space(
        "enas-macro", input_shape=(1, 8, 8), num_classes=10, overrides=config.space_settings
    )
    assert space.contains(parse(trial.arch)) and trial.result.params > 0


def test_enas_needs_a_space_with_a_super_network_and_data(tmp_path):
    with pytest.raises(ConfigError, match=r"not available for the 'metaqnn' space.*enas-macro"):
        run_search(
            SearchConfig(strategy="enas", budget=1, device="cpu", run_dir=str(tmp_path / "a"))
        )

    class NoData(FakeEvaluator):  # like a table of results: nothing to train on
        shared_weights = Evaluator.shared_weights

    with pytest.raises(ConfigError, match="cannot train shared weights"):
        run_search(
            SearchConfig(strategy="enas", budget=1, run_dir=str(tmp_path / "b")),
            evaluator=NoData(SPACE),
        )


def test_the_cli_says_so_in_one_line(tmp_path, capsys):
    code = main(["search", "--strategy", "enas", "--run-dir", str(tmp_path), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--space enas-macro" in err


def test_the_cli_runs_enas_shows_its_phase_and_exports_the_best(tmp_path, capsys):
    settings = tmp_path / "enas.toml"
    settings.write_text(
        "[strategy]\nnum_epochs = 2\ncontroller_train_steps = 2\nbatch_size = 4\n"
        "num_candidates = 5\nchild_batch_size = 64\n[space]\nnum_layers = 3\n"
        "filters = [8, 16]\n"
    )
    run = tmp_path / "run"
    code = main(
        ["search", "--strategy", "enas", "--space", "enas-macro", "--config", str(settings),
         "--budget", "1", "--epochs", "3", "--top-k", "1", "--final-epochs", "1",
         "--threads", "1", "--device", "cpu", "--run-dir", str(run)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert "shared weights 1/3  epoch 1" in err and "shared weights 3/3  candidates 5" in err
    export = ["export", str(run), "--out"]
    assert main([*export, str(tmp_path / "m.pt"), "--format", "torchscript"]) == 0
    capsys.readouterr()
    assert main([*export, str(tmp_path / "m.py"), "--format", "pytorch"]) == 2
    err = capsys.readouterr().err  # skips need a source generator: one line, no traceback
    assert err.count("\n") == 1 and "torchscript or onnx" in err
