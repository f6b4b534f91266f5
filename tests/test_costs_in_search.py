"""Costs recorded by a real search on digits: latency measured and stored with the device."""

from rlnas.config import SearchConfig
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
