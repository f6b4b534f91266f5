"""Trials per minute and per-trial overhead of the inline, process and Ray executors.

Every configuration runs the same random search (random proposals do not depend on
results, so all configurations train the same architectures) with a fixed seed, in one
run, side by side:

- ``fixed``: an evaluator that spins the CPU for exactly ``--delay`` seconds per trial, so
  every second beyond that is the executor's and the loop's;
- ``digits``: real training on digits (``--epochs`` epochs per child).

Start-up (starting the workers or the Ray cluster and one warm-up call per worker) is
timed apart from the search. Overhead per trial = (search seconds x workers - seconds
spent evaluating) / trials: worker time that went to anything but the evaluator
(transport, the strategy, the store, idle workers). CPUs are shared out: N local workers
get cores/N torch threads each, Ray trials declare cores/N CPUs.

    python benchmarks/executors.py [--trials 40] [--delay 0.5] [--digits-trials 20]
        [--epochs 2] [--executors inline,process,ray] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from runroot import add_keep_option, run_root

from rlnas.config import SearchConfig
from rlnas.evaluation.base import Evaluator
from rlnas.executors import Executor, InlineExecutor, ProcessExecutor, RayExecutor, usable_cpus
from rlnas.search import build_evaluator, run_search
from rlnas.spaces import make_space
from rlnas.testing import FakeEvaluator, FaultyEvaluator
from rlnas.testing.executors import nap


def start(name: str, workers: int, evaluator: Evaluator) -> tuple[Executor, float]:
    """The executor, ready: each worker has answered one call. And the seconds it took."""
    cores = usable_cpus()
    begin = time.perf_counter()
    executor: Executor
    if name == "inline":
        executor = InlineExecutor(evaluator)
    elif name == "process":
        executor = ProcessExecutor(evaluator, workers, threads=max(1, cores // workers))
    else:
        executor = RayExecutor(
            evaluator.with_data(), workers=workers, cpus_per_trial=max(1, cores // workers)
        )
    for future in [executor.submit(nap, 0.2) for _ in range(workers)]:
        future.result()
    return executor, time.perf_counter() - begin - (0.2 if workers else 0.0)


def measure(
    scenario: str, name: str, workers: int, config: SearchConfig, evaluator: Evaluator, root: Path
) -> dict[str, float]:
    executor, startup = start(name, workers, evaluator)
    run = replace(config, run_dir=str(root / f"{scenario}-{name}-{workers}"))
    try:
        summary = run_search(run, evaluator=evaluator, executor=executor)
    finally:
        executor.shutdown()
    trained = [t for t in summary.trials if t.new]
    busy = sum(t.result.seconds for t in trained)
    return {
        "startup": startup,
        "trials": len(trained),
        "search": summary.search_seconds,
        "per_minute": 60 * len(trained) / summary.search_seconds,
        "overhead_ms": 1000 * (summary.search_seconds * workers - busy) / len(trained),
    }


class FixedCost(FaultyEvaluator):
    """Spins the CPU for ``delay`` seconds, then answers like the fake evaluator; reports
    exactly ``delay`` seconds of evaluation."""

    def evaluate(self, arch, seed, *, prune=None):  # type: ignore[no-untyped-def]
        return replace(super().evaluate(arch, seed, prune=prune), seconds=self.delay)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=40, help="fixed-cost trials")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds per fixed-cost trial")
    parser.add_argument("--digits-trials", type=int, default=20, help="digits trials (0: skip)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per digits trial")
    parser.add_argument("--executors", default="inline,process,ray")
    parser.add_argument("--seed", type=int, default=0)
    add_keep_option(parser)
    args = parser.parse_args()
    root = run_root(args.keep, "rlnas-executors-")
    names = args.executors.split(",")
    runs = [(n, w) for n in names for w in ((1,) if n == "inline" else (1, 2))]

    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    fixed = FixedCost(FakeEvaluator(space, seed=1), root / "marks", delay=args.delay, busy=True)
    base = SearchConfig(strategy="random", budget=args.trials, seed=args.seed, top_k=0)
    scenarios = [("fixed", base, fixed)]
    if args.digits_trials:
        digits = SearchConfig(
            strategy="random", budget=args.digits_trials, epochs=args.epochs, seed=args.seed,
            top_k=0, device="cpu",
        )  # fmt: skip
        scenarios.append(("digits", digits, build_evaluator(digits)))

    print(
        f"{usable_cpus()} CPUs; fixed cost {args.delay}s x {args.trials} trials; "
        f"digits {args.digits_trials} trials x {args.epochs} epochs; seed {args.seed}"
    )
    print(
        "| scenario | executor | workers | start-up s | trials | search s | trials/min "
        "| overhead ms/trial | speed-up |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for scenario, config, evaluator in scenarios:
        reference = None
        for name, workers in runs:
            m = measure(scenario, name, workers, config, evaluator, root)
            reference = reference or m["per_minute"]
            print(
                f"| {scenario} | {name} | {workers} | {m['startup']:.1f} | {m['trials']:.0f} "
                f"| {m['search']:.1f} | {m['per_minute']:.1f} | {m['overhead_ms']:.0f} "
                f"| {m['per_minute'] / reference:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
