"""Costs recorded by a real search on digits: latency measured and stored with the device."""

import json

import pytest

from rlnas.cli import main
from rlnas.config import SearchConfig
from rlnas.evaluation.rewards import accuracy
from rlnas.runs import open_run, pareto_front, rerank
from rlnas.search import run_search
from rlnas.store import Store


def test_latency_is_measured_and_stored_with_the_device(tmp_path):
    config = SearchConfig(
        budget=3, epochs=1, top_k=0, latency=True, latency_batch=8, latency_threads=1,
        device="cpu", threads=1, run_dir=str(tmp_path),
    )  # fmt: skip
    run_search(config)
    with Store(tmp_path / "trials.db") as store:
        ok = [t.result for t in store.trials() if t.new and t.result.ok]
    assert ok
    for r in ok:
        assert r.latency_ms is not None and r.latency_ms > 0
        assert r.extra["latency_batch"] == 8 and r.extra["latency_batch_ms"] > 0
        assert r.extra["latency_threads"] == 1
        assert r.extra["device"].startswith("cpu")


def test_rerank_pareto_and_show(tmp_path, capsys):
    """Re-ranking a finished run under another reward equals recomputing it; the Pareto
    front is exactly the non-dominated trials; runs without latencies refuse latency rewards."""
    config = SearchConfig(
        budget=6, epochs=1, top_k=0, latency=True, device="cpu", threads=1,
        run_dir=str(tmp_path / "lat"),
    )  # fmt: skip
    run_search(config)
    stored, trials, _ = open_run(tmp_path / "lat")
    again = rerank(trials, "mnas:T=0.05ms,hard", stored)
    for before, after in zip(trials, again, strict=True):
        r = before.result
        expected = accuracy(r) if not r.ok else r.val_acc * min(1.0, 0.05 / r.latency_ms)
        assert after.reward == pytest.approx(expected)
    assert main(["show", str(tmp_path / "lat"), "--reward", "mnas:T=0.05ms,hard", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ranked = [r["reward"] for r in rows if r["status"] == "ok"]  # failures are listed last
    assert ranked == sorted(ranked, reverse=True) and len(ranked) >= 2

    ok = [t for t in trials if t.result.ok]

    def dominates(a, b):
        x = (-a.result.val_acc, a.result.params, a.result.latency_ms)
        y = (-b.result.val_acc, b.result.params, b.result.latency_ms)
        return all(i <= j for i, j in zip(x, y, strict=True)) and x != y

    expected = {t.arch for t in ok if not any(dominates(o, t) for o in ok)}
    assert {t.arch for t in pareto_front(trials)} == expected
    assert main(["show", str(tmp_path / "lat"), "--pareto", "--json"]) == 0
    assert {r["arch"] for r in json.loads(capsys.readouterr().out)} == expected

    plain = SearchConfig(budget=2, epochs=1, top_k=0, device="cpu", run_dir=str(tmp_path / "p"))
    run_search(plain)
    assert main(["show", str(tmp_path / "p"), "--reward", "mnas:T=1ms"]) == 2
    assert "did not measure them" in capsys.readouterr().err
