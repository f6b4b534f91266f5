"""How fast each strategy (and setting) learns the fake evaluator's known optimum.

The fake evaluator (`rlnas.testing.FakeEvaluator`) scores an architecture by how many
positions it shares with a hidden target, so learning is measured in seconds. For each
``strategy[:json settings]`` and seed, a search of ``--budget`` unique models runs
through `rlnas.search.run_search`; reported: best and top-10 mean reward (means over
seeds), proposals made (replays of known models included) and wall seconds.

    python benchmarks/fake_learning.py --budget 300 --seeds 6 \\
        random 'reinforce' 'reinforce:{"learning_rate": 0.005}' 'enas'
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from runroot import add_keep_option, run_root

from rlnas.config import SearchConfig
from rlnas.search import run_search
from rlnas.spaces import make_space
from rlnas.testing import FakeEvaluator


def run(entry: str, space: str, budget: int, seed: int, root: Path) -> tuple[float, float, int]:
    strategy, _, settings = entry.partition(":")
    fake = FakeEvaluator(make_space(space, input_shape=(1, 8, 8), num_classes=10), seed=seed)
    config = SearchConfig(
        strategy=strategy, space=space, budget=budget, seed=seed, top_k=0,
        run_dir=str(root / f"{len(list(root.iterdir()))}"),
        strategy_settings=json.loads(settings) if settings else {},
    )  # fmt: skip
    summary = run_search(config, evaluator=fake)
    rewards = sorted({t.arch: t.reward for t in summary.trials}.values(), reverse=True)
    return rewards[0], statistics.fmean(rewards[:10]), len(summary.trials)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("entries", nargs="+", help='strategy or strategy:{"json": settings}')
    parser.add_argument("--space", default="metaqnn")
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=6)
    add_keep_option(parser)
    args = parser.parse_args()
    root = run_root(args.keep, "rlnas-fake-")
    print(f"fake evaluator on {args.space}, budget {args.budget}, {args.seeds} seeds\n")
    print("| strategy | settings | best | top-10 mean | proposals | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    for entry in args.entries:
        start = time.perf_counter()
        runs = [run(entry, args.space, args.budget, s, root) for s in range(args.seeds)]
        best, top, proposals = (statistics.fmean(column) for column in zip(*runs, strict=True))
        strategy, _, settings = entry.partition(":")
        print(
            f"| {strategy} | {settings or 'defaults'} | {best:.3f} | {top:.3f} | "
            f"{proposals:.0f} | {time.perf_counter() - start:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
