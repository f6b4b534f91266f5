"""Q-learning against random search on digits at equal budget, over seeds.

Reports, per strategy: best and top-10 mean validation accuracy, test accuracy of the best
after retraining on train+validation, and the share of wall time spent outside child
training (the search machinery's overhead).

    python benchmarks/search_digits.py [--budget 100] [--seeds 3] [--epochs 8] [--threads T]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from runroot import add_keep_option, run_root

from rlnas.config import SearchConfig
from rlnas.runs import ranking
from rlnas.search import run_search


def one(strategy: str, seed: int, args: argparse.Namespace, root: Path) -> dict[str, float]:
    config = SearchConfig(
        dataset=args.dataset, strategy=strategy, budget=args.budget, epochs=args.epochs,
        final_epochs=args.final_epochs, top_k=1, seed=seed, device="cpu", threads=args.threads,
        run_dir=str(root / f"{strategy}-{seed}"),
    )  # fmt: skip
    summary = run_search(config)
    rows = ranking(summary.trials, summary.finals)
    top10 = [r.val_acc for r in rows[:10]]
    return {
        "best_val": rows[0].val_acc,
        "top10_val": statistics.mean(top10),
        "best_test": summary.finals[0].test_acc,
        "overhead": 1 - summary.train_seconds / summary.search_seconds,
        "search_seconds": summary.search_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--final-epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--strategies", default="qlearning,random")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per trial")
    add_keep_option(parser)
    args = parser.parse_args()
    root = run_root(args.keep, "rlnas-bench-")
    print("| strategy | seeds | best val | top-10 val | test of best | outside training | wall s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for strategy in args.strategies.split(","):
        runs = [one(strategy, seed, args, root) for seed in range(args.seeds)]

        def stat(key: str, runs=runs) -> str:
            values = [r[key] for r in runs]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{statistics.mean(values):.4f} ± {spread:.4f}"

        wall = statistics.mean(r["search_seconds"] for r in runs)
        print(
            f"| {strategy} | {args.seeds} | {stat('best_val')} | {stat('top10_val')} | "
            f"{stat('best_test')} | {stat('overhead')} | {wall:.0f} |"
        )


if __name__ == "__main__":
    main()
