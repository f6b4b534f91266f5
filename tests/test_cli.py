"""The command line as a user meets it: the quick start, `show`, `train`, and clear errors."""

import json
import os
import subprocess
import sys

import pytest

from rlnas.cli import main

FAST = ["--epochs", "1", "--final-epochs", "1", "--top-k", "1", "--device", "cpu"]


def rlnas(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "rlnas", *args], capture_output=True, text=True, timeout=600
    )
    if check and proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return proc


@pytest.mark.slow
def test_quick_start_search_then_show(tmp_path):
    run = tmp_path / "run"
    proc = rlnas("search", "--budget", "4", *FAST, "--run-dir", str(run), "--final-epochs", "5")
    assert "stopped (budget)" in proc.stderr and "rlnas show" in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.startswith("trial")]) >= 4
    assert (run / "config.json").is_file()
    shown = rlnas("show", str(run))
    assert "C(" in shown.stdout or "SM(" in shown.stdout or "GAP(" in shown.stdout
    rows = json.loads(rlnas("show", str(run), "--json").stdout)
    assert len(rows) == 4 and [r["rank"] for r in rows] == [1, 2, 3, 4]
    ok = [r for r in rows if r["status"] == "ok"]
    assert rows[: len(ok)] == ok  # failures rank last
    assert [r["val_acc"] for r in ok] == sorted((r["val_acc"] for r in ok), reverse=True)
    assert ok, rows
    assert rows[0]["test_acc"] is not None and 0.5 < rows[0]["test_acc"] <= 1
    assert all(r["params"] > 0 for r in rows)


def test_train_prints_validation_and_test_accuracy(capsys):
    code = main(
        ["train", "[C(16,3,1), P(2,2), FC(32), SM(10)]", "--epochs", "3", "--device", "cpu"]
    )
    out = capsys.readouterr().out
    assert code == 0
    val = float(out.split("validation accuracy")[1].split()[0])
    test = float(out.split("test accuracy")[1].split()[0])
    assert val > 0.5 and test > 0.5  # 3 epochs on digits are far above chance (0.1)


def test_train_final_uses_the_config_and_final_recipe_of_a_search(tmp_path, capsys):
    """--final trains like a search's final retraining, from the same config file: a
    hand-designed baseline is compared with a search's result under one recipe."""
    config = tmp_path / "search.toml"
    config.write_text(
        'final_recipe = "strong"\nfinal_epochs = 2\n[train]\nbuild = { batch_norm = true }\n'
    )
    arch = "[C(16,3,1), P(2,2), FC(32), SM(10)]"
    assert main(["train", arch, "--config", str(config), "--final", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "trained 2 epochs on train+validation (final), adamw, onecycle" in out
    assert "validation accuracy" not in out  # validation data was trained on
    assert float(out.split("test accuracy")[1].split()[0]) > 0.5
    plain = 16 * 9 + 16 + 16 * 16 * 32 + 32 + 32 * 10 + 10
    with_bn = plain - 16 + 2 * 16  # no conv bias; BN's scale and shift
    assert f"params {with_bn:,}" in out


def test_train_search_recipe_strong_trains_as_such_a_search_trains_its_children(capsys):
    arch = "[C(8,3,1), SM(10)]"
    assert main(["train", arch, "--epochs", "1", "--search-recipe", "strong",
                 "--device", "cpu"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "trained 1 epochs on the train split, adamw, onecycle schedule, augment none" in out
    assert float(out.split("validation accuracy")[1].split()[0]) > 0.2


def test_datasets_lists_digits(capsys):
    assert main(["datasets"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("digits"))
    assert "yes" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "--budget", "0"], "--budget must be at least 1"),
        (["search", "--budget", "many"], "invalid int value"),
        (["search", "--dataset", "nope", "--run-dir", "{tmp}/x"], "nope"),
        (["search", "--strategy", "magic", "--run-dir", "{tmp}/y"], "unknown strategy 'magic'"),
        (["search", "--time-limit", "soon"], "invalid duration"),
        (["search", "--resume"], "--resume needs --run-dir"),
        (["search", "--config", "{tmp}/none.toml"], "does not exist"),
        (["train", "[C(8,3), SM(10)]"], "position 6"),
        (["train", "[C(8,3,1), SM(3)]"], "ends in 3 classes"),
        (["train", "[C(8,3,1), SM(10)]", "--final", "--final-recipe", "x"], "unknown final recipe"),
        (["show", "{tmp}"], "not a run directory"),
        (["search", "--shortlist", "1", "--top-k", "2"], "shortlist=1 must be at least top_k=2"),
        (
            [
                "search",
                "--dataset",
                "tabular:digits-tiny",
                "--screen",
                "3",
                "--run-dir",
                "{tmp}/t",
            ],
            "cannot screen architectures",
        ),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_gives_one_clear_line_and_exit_code_2(tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = rlnas(*args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not list(tmp_path.rglob("trials.db"))  # a search that did not start left no run


@pytest.mark.slow
def test_existing_run_is_not_touched_without_resume(tmp_path):
    run = tmp_path / "run"
    rlnas("search", "--budget", "2", *FAST, "--run-dir", str(run))
    before = (run / "trials.db").read_bytes()
    proc = rlnas("search", "--budget", "2", *FAST, "--run-dir", str(run), check=False)
    assert proc.returncode == 2 and "--resume" in proc.stderr
    assert (run / "trials.db").read_bytes() == before


def test_train_names_the_rule_a_network_outside_the_space_breaks_and_trains_it(capsys):
    code = main(
        ["train", "[C(16,3,1), P(2,2), P(2,2), SM(10)]", "--epochs", "2", "--device", "cpu"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "P(2,2) (layer 3) does not follow a convolution" in out and "trained as given" in out
    assert "trained 2 epochs" in out


def test_a_failed_training_is_not_reported_as_trained(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text("[train]\nrestart_margin = 0.95\nmax_restarts = 1\nrestart_min_steps = 1\n")
    code = main(["train", "[C(8,3,1), SM(10)]", "--config", str(config), "--epochs", "2"])
    out = capsys.readouterr().out
    assert code == 1 and "training FAILED: not better than chance" in out
    assert "trained" not in out.replace("training FAILED", "")


@pytest.mark.parametrize(
    "arch", ["[C(99999999999999999999,3,1), SM(10)]", "[C(1000001,3,1), SM(10)]"]
)
def test_a_number_too_large_for_any_network_is_one_line_and_exit_2(arch, capsys):
    assert main(["train", arch, "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "up to 1,000,000" in err


def test_torch_threads_wait_passively_unless_the_user_says_otherwise(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    with pytest.raises(SystemExit):
        main(["--version"])
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
