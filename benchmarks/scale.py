"""rlnas at scale: a run store of 100,000 trials, and a 1,000-trial search's memory and
per-trial loop time.

1. A store of ``--trials`` trials is written with the store's own API (``add_trial``, one
   transaction each, a checkpoint every 100), then ``rlnas show RUN`` and
   ``rlnas report RUN --no-png`` are timed as a user runs them (fresh processes).
2. A search of ``--search-trials`` trials on the fake evaluator (instant trials: what is
   measured is rlnas itself) records, after every trial, the process's resident memory
   and the loop's own seconds for that trial; the growth from trial 100 to the end and the
   time per trial by decile are reported, for random search (a constant-size checkpoint)
   and Q-learning (whose checkpoint holds its replay memory, which grows).

    python benchmarks/scale.py [--trials 100000] [--search-trials 1000] [--plot FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rlnas.config import SearchConfig
from rlnas.results import EvalResult, TrialStatus
from rlnas.search import Monitor, run_search
from rlnas.spaces import make_space
from rlnas.store import Store, TrialRecord
from rlnas.testing import FakeEvaluator


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def write_store(run: Path, trials: int) -> float:
    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    rng = np.random.default_rng(0)
    config = SearchConfig(budget=trials, run_dir=str(run), top_k=0)
    start = time.perf_counter()
    with Store(run / "trials.db") as store:
        store.set_meta("config", config.to_json())
        store.set_meta("input_shape", json.dumps([1, 8, 8]))
        for i in range(trials):
            arch, actions = space.sample(rng)
            acc = float(rng.uniform(0.1, 0.98))
            curve = tuple(float(v) for v in np.linspace(0.1, acc, 8))
            result = EvalResult(TrialStatus.OK, acc, 10, params=int(rng.integers(1e3, 1e5)),
                                flops=1000, seconds=1.0, val_curve=curve, epochs=8)  # fmt: skip
            record = TrialRecord(i, str(arch), actions, acc, result, True, {"epsilon": 0.5})
            checkpoint = {"step": i} if i % 100 == 0 else None
            store.add_trial(record, fingerprint="scale", checkpoint=checkpoint)
    return time.perf_counter() - start


def timed(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rlnas", *args], check=True, capture_output=True)
    return time.perf_counter() - start


class Recorder(Monitor):
    """Resident memory and the loop's own seconds per trial (trials take no time here)."""

    def __init__(self, trials: int) -> None:
        self.trials = trials
        self.memory: list[float] = []
        self.seconds: list[float] = []
        self.last = time.perf_counter()

    def on_trial(self, record, status) -> None:  # type: ignore[no-untyped-def]
        now = time.perf_counter()
        self.seconds.append(now - self.last)
        self.last = now
        self.memory.append(rss_mb())
        if len(self.memory) >= self.trials:
            raise KeyboardInterrupt  # a graceful stop after exactly this many trials


def search(strategy: str, trials: int, root: Path) -> Recorder:
    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    recorder = Recorder(trials)
    config = SearchConfig(strategy=strategy, budget=trials, top_k=0, seed=0,
                          run_dir=str(root / strategy))  # fmt: skip
    run_search(config, evaluator=FakeEvaluator(space, seed=1, noise=0.05), monitor=recorder)
    return recorder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--search-trials", type=int, default=1000)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="rlnas-scale-") as tmp:
        root = Path(tmp)
        run = root / "big"
        out["write_seconds"] = write_store(run, args.trials)
        out["store_mb"] = (run / "trials.db").stat().st_size / 2**20
        out["show_seconds"] = min(timed("show", str(run)) for _ in range(3))
        out["report_seconds"] = min(timed("report", str(run), "--no-png") for _ in range(2))
        out["report_mb"] = (run / "report.html").stat().st_size / 2**20
        print(
            f"{args.trials:,} trials: written in {out['write_seconds']:.1f} s "
            f"({out['store_mb']:.0f} MB); rlnas show {out['show_seconds']:.2f} s, rlnas "
            f"report {out['report_seconds']:.2f} s ({out['report_mb']:.1f} MB page)",
            flush=True,
        )
        recorders = {}
        for strategy in ("random", "qlearning"):
            rec = search(strategy, args.search_trials, root)
            recorders[strategy] = rec
            n = len(rec.memory)
            deciles = [
                float(np.mean(chunk)) * 1000 for chunk in np.array_split(rec.seconds[1:], 10)
            ]
            out[strategy] = {
                "trials": n, "rss_at_100_mb": rec.memory[min(99, n - 1)],
                "rss_growth_mb": rec.memory[-1] - rec.memory[min(99, n - 1)],
                "ms_per_trial_by_decile": deciles,
            }  # fmt: skip
            print(
                f"{strategy}: {n} trials, resident memory {out[strategy]['rss_at_100_mb']:.0f} "
                f"MB at trial 100, growth to the end {out[strategy]['rss_growth_mb']:+.1f} MB; "
                f"loop ms per trial by decile {', '.join(f'{d:.1f}' for d in deciles)}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    if args.plot:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(9, 3.5), layout="constrained")
        left, right = figure.subplots(1, 2)
        for strategy, rec in recorders.items():
            ms = np.array(rec.seconds[1:]) * 1000
            window = 25
            smooth = np.convolve(ms, np.ones(window) / window, mode="valid")
            left.plot(np.arange(len(smooth)) + window, smooth, label=strategy)
            right.plot(np.arange(1, len(rec.memory) + 1), rec.memory, label=strategy)
        left.set(xlabel="trial", ylabel="loop ms per trial (mean of 25)", title="Time per trial")
        right.set(xlabel="trial", ylabel="resident MB", title="Memory")
        left.legend()
        figure.savefig(args.plot)


if __name__ == "__main__":
    main()
