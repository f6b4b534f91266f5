"""Recurrent cells searched end to end through the command line, on a tiny generated
corpus: REINFORCE and ENAS unchanged, the LSTM baseline in the final report, an ENAS run
interrupted in its weight-sharing phase resumes to the uninterrupted result."""

import dataclasses
import json

import pytest

from rlnas.arch import parse
from rlnas.cli import main
from rlnas.config import ConfigError, SearchConfig
from rlnas.search import Monitor, run_search
from rlnas.spaces import make_space
from rlnas.store import Store
from rlnas.testing import write_text

SPACE = {"num_nodes": 3, "embedding_size": 8, "hidden_size": 16}
TRAIN = {"batch_size": 8, "bptt": 20, "learning_rate": 0.01}
ENAS = {"num_epochs": 2, "controller_train_steps": 3, "batch_size": 4, "num_candidates": 8,
        "rank_batches": 2}  # fmt: skip


def write_config(path, strategy_settings):
    tables = {"space": SPACE, "train": TRAIN, "strategy": strategy_settings}
    lines = []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def search(tmp_path, strategy, settings, capsys):
    corpus = write_text(tmp_path / "chain.txt", words=1200)
    config = write_config(tmp_path / f"{strategy}.toml", settings)
    run = tmp_path / strategy
    code = main([
        "search", "--dataset", f"text:{corpus}", "--strategy", strategy, "--budget", "3",
        "--epochs", "2", "--final-epochs", "2", "--top-k", "1", "--config", str(config),
        "--device", "cpu", "--threads", "1", "--run-dir", str(run), "--no-report",
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    with Store(run / "trials.db") as store:
        trials, finals = store.trials(), store.finals()
    vocab = trials[0].result.num_classes
    space = make_space("rnn-cell", input_shape=(1, 1, 1), num_classes=vocab, overrides=SPACE)
    assert len({t.arch for t in trials if t.new}) == 3
    for t in trials:
        assert space.contains(parse(t.arch)) and t.result.ok
        assert t.reward == pytest.approx(80.0 / t.result.extra["val_ppl"])  # c / perplexity
        assert t.result.extra["val_ppl"] < 0.5 * vocab  # learned something in 2 epochs
    (final,) = finals
    metrics = final.result["metrics"]
    assert final.test_acc == pytest.approx(80.0 / metrics["test_ppl"])
    assert metrics["lstm_test_ppl"] > 1 and metrics["lstm_hidden"] >= 1
    assert "lstm_test_ppl" in err  # the comparison is printed with the final result
    assert main(["show", str(run), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["test_ppl"] == metrics["test_ppl"] and rows[0]["val_ppl"] > 1
    return run, trials, err


def test_reinforce_searches_cells_through_the_cli(tmp_path, capsys):
    search(tmp_path, "reinforce", {"learning_rate": 0.01, "batch_size": 2}, capsys)


def test_enas_searches_cells_through_the_cli(tmp_path, capsys):
    run, trials, err = search(tmp_path, "enas", ENAS, capsys)
    assert err.count("shared weights") == 3  # two epochs and the ranking
    accs = [t.info["shared_acc"] for t in trials]
    assert accs == sorted(accs, reverse=True) and all(0 < a < 80 for a in accs)
    with Store(run / "trials.db") as store:
        history = store.checkpoint()[1]["history"]
    assert [h["epoch"] for h in history] == [1, 2] and history[-1]["shared_loss"] > 0


class StopAfterFirstEpoch(Monitor):
    def on_phase(self, report, status):
        if report.step == 1:
            raise KeyboardInterrupt  # Ctrl-C after the first epoch was checkpointed


def test_enas_on_text_resumes_mid_phase_to_the_uninterrupted_run(tmp_path):
    corpus = write_text(tmp_path / "chain.txt", words=1200)
    config = SearchConfig(
        dataset=f"text:{corpus}", strategy="enas", budget=2, epochs=1, top_k=0, seed=3,
        device="cpu", threads=1, space_settings=SPACE, train_settings=TRAIN,
        strategy_settings=ENAS,
    )  # fmt: skip

    def stored(name):
        with Store(tmp_path / name / "trials.db") as store:
            return [dataclasses.replace(t, created=0.0, result=dataclasses.replace(
                t.result, seconds=0.0)) for t in store.trials()]  # fmt: skip

    run_search(dataclasses.replace(config, run_dir=str(tmp_path / "whole")))
    cut = dataclasses.replace(config, run_dir=str(tmp_path / "cut"))
    assert run_search(cut, monitor=StopAfterFirstEpoch()).stopped == "interrupted"
    with Store(tmp_path / "cut" / "trials.db") as store:
        assert len(store.checkpoint()[1]["history"]) == 1 and not store.trials()
    run_search(cut, resume=True)
    assert stored("cut") == stored("whole") and len(stored("whole")) == 2


def test_text_and_image_settings_do_not_mix(tmp_path):
    corpus = write_text(tmp_path / "chain.txt", words=600)
    base = SearchConfig(dataset=f"text:{corpus}", budget=1, run_dir=str(tmp_path / "r"))
    cases = [
        ({"train_settings": {"build": {"dropout": 0.1}}}, r"unknown \[train\] setting\(s\) build"),
        ({"final_recipe": "strong"}, "--final-recipe strong is for images"),
        ({"search_recipe": "strong"}, "--search-recipe strong is for images"),
        ({"reward": "mnas:T=2ms"}, "latency is measured for image models only"),
        ({"space": "enas-macro"}, "covers the rnn-cell space only"),
        ({"train_settings": {"batch_size": 5000}}, "too few for 5000 streams"),
        ({"dataset": "digits", "space": "rnn-cell"}, "builds models of text data but digits"),
        ({"shortlist": 3}, "LanguageModelEvaluator cannot re-rank a shortlist"),
    ]
    for change, message in cases:
        with pytest.raises(ConfigError, match=message):
            run_search(dataclasses.replace(base, **change))
