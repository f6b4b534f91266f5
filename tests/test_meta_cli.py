"""`rlnas meta-train` and `rlnas search --strategy meta-a2c --policy FILE [--frozen]`."""

import pytest
import torch

from rlnas.cli import main
from rlnas.runs import open_run

FAST = ["--epochs", "1", "--device", "cpu", "--threads", "1"]


@pytest.fixture(autouse=True)
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_meta_train_on_derived_tasks_then_deploy_frozen_on_a_new_one(tmp_path, capsys):
    policy = tmp_path / "policy.pt"
    code = main([
        "meta-train", "--datasets", "digits[classes=0-4,size=6],digits[classes=5-9,size=6]",
        "--steps", "30", "--out", str(policy), "--switch-every", "2", "--subset", "300", *FAST,
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0 and policy.is_file()
    assert "digits[classes=0-4,size=6]" in err and "digits[classes=5-9,size=6]" in err
    assert f"policy saved to {policy}" in err
    run = tmp_path / "run"
    code = main([
        "search", "--strategy", "meta-a2c", "--policy", str(policy), "--frozen",
        "--space", "blockqnn-chain", "--dataset", "digits[classes=0+3+6+9]", "--budget", "3",
        "--top-k", "0", "--subset", "200", "--run-dir", str(run), *FAST,
    ])  # fmt: skip
    assert code == 0
    config, trials, _ = open_run(run)
    assert config["strategy_settings"] == {"policy": str(policy), "frozen": True}
    assert sum(t.new for t in trials) == 3 and all("BHEAD" in t.arch for t in trials)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "qlearning", "--policy", "p.pt"], "apply to --strategy meta-a2c"),
        (["--strategy", "meta-a2c", "--frozen"], "--frozen needs --policy"),
        (["--strategy", "meta-a2c", "--policy", "missing.pt"], "does not exist"),
    ],
)
def test_policy_flags_fail_in_one_line(tmp_path, capsys, args, message):
    code = main(["search", *args, "--run-dir", str(tmp_path / "r"), "--budget", "1"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_meta_train_needs_positive_steps(capsys):
    code = main(["meta-train", "--datasets", "digits", "--steps", "0", "--out", "p.pt"])
    assert code == 2 and "--steps" in capsys.readouterr().err
