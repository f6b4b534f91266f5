"""Every registered strategy on the tabular benchmark: regret over many seeds, equal budgets.

For each strategy (random, evolution, qlearning, and any later one in the registry), each
budget and each seed, runs `rlnas.search.run_search` on ``tabular:NAME`` and reports the
regret: the best test accuracy in the table minus the test accuracy of the strategy's
best-by-validation architecture; with 95% confidence intervals over seeds, the share of
seeds that found the table's best architecture, and the simulated training time (the
table's recorded seconds of every model trained).

    python benchmarks/strategies.py [--seeds 30] [--budgets 50,100,200,400] [--plot FILE]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from rlnas.config import SearchConfig
from rlnas.evaluation.tabular import TabularEvaluator
from rlnas.search import leaderboard, run_search
from rlnas.strategies import STRATEGIES


def run(strategy: str, budget: int, seed: int, evaluator: TabularEvaluator, root: Path) -> dict:
    config = SearchConfig(
        dataset=f"tabular:{evaluator.name}", strategy=strategy, budget=budget, seed=seed,
        top_k=0, run_dir=str(root / f"{strategy}-{budget}-{seed}"),
    )  # fmt: skip
    summary = run_search(config, evaluator=evaluator)
    best = leaderboard(summary.trials)[0]
    return {
        "regret": evaluator.best_test_acc() - evaluator.test_acc(best.arch),
        "hours": sum(t.result.seconds for t in summary.trials if t.new) / 3600,
        "arch": best.arch,
    }


def mean_ci(values: list[float]) -> tuple[float, float]:
    mean = statistics.mean(values)
    half = 1.96 * statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return mean, half


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", default="digits-tiny")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--budgets", default="50,100,200,400")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--plot", default=None, help="write a PNG of regret (needs matplotlib)")
    args = parser.parse_args()
    evaluator = TabularEvaluator(args.table)
    best_test = evaluator.best_test_acc()
    optimum = {a for a in evaluator.archs if evaluator.test_acc(a) == best_test}
    budgets = [int(b) for b in args.budgets.split(",")]
    root = Path(tempfile.mkdtemp(prefix="rlnas-strategies-"))
    print(f"table {args.table}: {len(evaluator.archs)} architectures, best test {best_test:.4f}")
    print("| strategy | budget | regret (mean ± 95% CI) | found the optimum | simulated hours |")
    print("| --- | --- | --- | --- | --- |")
    results: dict[str, list[tuple[float, float, float, float]]] = {}
    for strategy in args.strategies.split(","):
        for budget in budgets:
            runs = [run(strategy, budget, s, evaluator, root) for s in range(args.seeds)]
            regret, half = mean_ci([r["regret"] for r in runs])
            hours = statistics.mean(r["hours"] for r in runs)
            found = sum(r["arch"] in optimum for r in runs) / len(runs)
            results.setdefault(strategy, []).append((budget, regret, half, hours))
            print(
                f"| {strategy} | {budget} | {regret:.4f} ± {half:.4f} | {found:.0%} "
                f"| {hours:.2f} |",
                flush=True,
            )
    if args.plot:
        plot(results, args.plot, args.table, args.seeds)


def plot(results: dict, path: str, table: str, seeds: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for strategy, rows in results.items():
        budget, regret, half, hours = (list(c) for c in zip(*rows, strict=True))
        for ax, x in zip(axes, (budget, hours), strict=True):
            ax.plot(x, regret, marker="o", label=strategy)
            lo = [r - h for r, h in zip(regret, half, strict=True)]
            hi = [r + h for r, h in zip(regret, half, strict=True)]
            ax.fill_between(x, lo, hi, alpha=0.2)
    axes[0].set_xlabel("models trained")
    axes[1].set_xlabel("simulated training hours")
    axes[0].set_ylabel("test regret")
    for ax in axes:
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"tabular:{table}, mean and 95% CI over {seeds} seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
