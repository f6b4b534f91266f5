"""Every registered strategy on the tabular benchmark: regret over many seeds, equal budgets.

For each strategy (random, evolution, qlearning, and any later one in the registry), each
budget and each seed, runs `rlnas.search.run_search` on ``tabular:NAME`` and reports the
regret: the best test accuracy in the table minus the test accuracy of the strategy's
best-by-validation architecture; with 95% confidence intervals over seeds, the share of
seeds that found the table's best architecture, and the simulated training time (the
table's recorded seconds of every model trained).

    python benchmarks/strategies.py [--seeds 30] [--budgets 50,100,200,400] [--plot FILE]
        [--strategies random evolution 'qlearning:{"alpha": 0.01}' qlearning+mf ...]
        [--jobs 2] [--rows FILE]

An entry of ``--strategies`` is a registered name, optionally with ``+mf`` (multi-fidelity
rungs from epoch 1; the budget then counts full trainings' worth of epochs, so every entry
spends the same simulated compute) and JSON settings (``name:{"setting": value}``), so
defaults can be compared with alternatives in one run. With ``--rows`` every run's row is
appended as it finishes and reused when the command runs again: a long comparison resumes.

``--shortlist N`` gives every run the search's own re-ranking: its ``N`` best are scored
again by the mean over the table's training seeds (``TabularEvaluator.shortlist_score``)
and the regret is that of the shortlist's best; the simulated hours include the shortlist. The
table then adds, within each run's shortlist, the Spearman correlation of the search's
order and of the shortlist's order with the test accuracy (mean over seeds).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import multiprocessing
import statistics
import time
from pathlib import Path

from runroot import add_keep_option, run_root

from rlnas.arch import parse
from rlnas.config import SearchConfig
from rlnas.evaluation.tabular import TabularEvaluator
from rlnas.runs import leaderboard, read_run
from rlnas.search import run_search, trial_seed
from rlnas.strategies import STRATEGIES, OneShotStrategy


def run(
    entry: str, budget: int, seed: int, evaluator: TabularEvaluator, root: Path, shortlist: int
) -> dict:
    name, _, settings = entry.partition(":")
    strategy, _, mf = name.partition("+")  # "+mf": multi-fidelity rungs from epoch 1
    config = SearchConfig(
        dataset=f"tabular:{evaluator.name}", strategy=strategy, budget=budget, seed=seed,
        top_k=0, run_dir=str(root / f"{entry}-{budget}-{seed}-{time.time_ns()}"),
        strategy_settings=json.loads(settings) if settings else {},
        min_epochs=1 if mf == "mf" else None,
    )  # fmt: skip
    if shortlist:
        epochs = int(evaluator.table["epochs"])
        config = dataclasses.replace(
            config, shortlist=shortlist, top_k=1, shortlist_epochs=epochs, final_epochs=epochs
        )
    summary = run_search(config, evaluator=evaluator)
    best = leaderboard(summary.trials, summary.finals)[0]
    searched = leaderboard(summary.trials)
    hours = sum(t.result.seconds for t in summary.trials if t.new) / 3600
    row = {
        "entry": entry,
        "budget": budget,
        "seed": seed,
        "regret": evaluator.best_test_acc() - evaluator.test_acc(best.arch),
        "val_regret": best_val(evaluator, seed) - searched[0].result.val_acc,
        "hours": hours,
        "models": sum(t.new for t in summary.trials),
        "arch": best.arch,
    }
    if shortlist:
        with read_run(summary.run_dir) as (store, _):
            scores = store.shortlist()  # the search's own re-ranking, as stored
        listed = [t.arch for t in searched if t.arch in scores]  # in the search's order
        tests = [evaluator.test_acc(a) for a in listed]
        row["shortlist"] = shortlist
        row["hours"] = hours + sum(s.seconds for s in scores.values()) / 3600
        row["rho_search"] = spearman([-i for i in range(len(listed))], tests)
        row["rho_shortlist"] = spearman([scores[a].val_acc for a in listed], tests)
    return row


def run_job(job: tuple) -> dict:
    return run(*job)


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rho of ``x`` and ``y`` (0 when either is constant)."""
    from scipy.stats import spearmanr

    rho = spearmanr(x, y).statistic
    return 0.0 if rho != rho else float(rho)  # NaN: a constant input


@functools.cache
def val_accs(evaluator: TabularEvaluator, seed: int) -> dict[str, float]:
    """Every architecture's validation accuracy in a search seeded ``seed`` (each answers
    with the table run its training seed picks)."""
    return {a: evaluator.evaluate(parse(a), trial_seed(seed, a)).val_acc for a in evaluator.archs}


def best_val(evaluator: TabularEvaluator, seed: int) -> float:
    """The best validation accuracy a search seeded ``seed`` could find in the table."""
    return max(val_accs(evaluator, seed).values())


def val_optimum_regret(evaluator: TabularEvaluator, seed: int) -> float:
    """The test regret of the architectures with the best validation accuracy in the whole
    table for ``seed`` (mean over ties): what a search that found the validation optimum
    would score."""
    accs = val_accs(evaluator, seed)
    top = max(accs.values())
    tests = [evaluator.test_acc(a) for a, acc in accs.items() if acc == top]
    return evaluator.best_test_acc() - statistics.mean(tests)


def mean_ci(values: list[float]) -> tuple[float, float]:
    mean = statistics.mean(values)
    half = 1.96 * statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return mean, half


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", default="digits-tiny")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--budgets", default="50,100,200,400")
    # a table holds results, not data: weight-sharing strategies (ENAS) cannot run on it
    tabular = [n for n, cls in STRATEGIES.items() if not issubclass(cls, OneShotStrategy)]
    parser.add_argument(
        "--strategies", nargs="+", default=tabular, help='names, or name:{"json": settings}'
    )
    parser.add_argument("--plot", default=None, help="write a PNG of regret (needs matplotlib)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (processes)")
    parser.add_argument(
        "--rows", type=Path, help="append each run's row here; rows already there are reused"
    )
    parser.add_argument(
        "--shortlist", type=int, default=0,
        help="re-rank each run's N best by the mean of the table's seeds (0: off)",
    )  # fmt: skip
    add_keep_option(parser)
    args = parser.parse_args()
    evaluator = TabularEvaluator(args.table)
    best_test = evaluator.best_test_acc()
    optimum = {a for a in evaluator.archs if evaluator.test_acc(a) == best_test}
    budgets = [int(b) for b in args.budgets.split(",")]
    root = run_root(args.keep, "rlnas-strategies-")
    print(f"table {args.table}: {len(evaluator.archs)} architectures, best test {best_test:.4f}")
    oracle, oracle_half = mean_ci([val_optimum_regret(evaluator, s) for s in range(args.seeds)])
    print(
        f"a search that finds the validation optimum exactly: test regret {oracle:.4f} "
        f"± {oracle_half:.4f}"
    )
    rank_header = " | shortlist's Spearman with test: search, shortlist" if args.shortlist else ""
    print(
        "| strategy | budget | test regret (mean ± 95% CI) | validation regret "
        f"| found the optimum | simulated hours{rank_header} |"
    )
    print("| --- " * (7 if args.shortlist else 6) + "|")
    results: dict[str, list[tuple[float, ...]]] = {}
    done: dict[tuple[str, int, int], dict] = {}
    if args.rows and args.rows.exists():
        for line in args.rows.read_text().splitlines():
            row = json.loads(line)
            if row.get("shortlist", 0) == args.shortlist:
                done[row["entry"], row["budget"], row["seed"]] = row
    for strategy in args.strategies:
        for budget in budgets:
            todo = [s for s in range(args.seeds) if (strategy, budget, s) not in done]
            with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
                jobs = [(strategy, budget, s, evaluator, root, args.shortlist) for s in todo]
                for row in pool.imap_unordered(run_job, jobs):  # each row as it finishes
                    done[strategy, budget, row["seed"]] = row
                    if args.rows:
                        with args.rows.open("a") as f:
                            f.write(json.dumps(row) + "\n")
            runs = [done[strategy, budget, s] for s in range(args.seeds)]
            regret, half = mean_ci([r["regret"] for r in runs])
            val_regret, val_half = mean_ci([r["val_regret"] for r in runs])
            hours = statistics.mean(r["hours"] for r in runs)
            found = sum(r["arch"] in optimum for r in runs) / len(runs)
            results.setdefault(strategy, []).append(
                (budget, regret, half, hours, val_regret, val_half)
            )
            ranks = ""
            if args.shortlist:
                rho = statistics.mean(r["rho_search"] for r in runs)
                rho_shortlist = statistics.mean(r["rho_shortlist"] for r in runs)
                ranks = f" | {rho:.2f}, {rho_shortlist:.2f}"
            print(
                f"| {strategy} | {budget} | {regret:.4f} ± {half:.4f} "
                f"| {val_regret:.4f} ± {val_half:.4f} | {found:.0%} "
                f"| {hours:.2f}{ranks} |",
                flush=True,
            )
    if args.plot:
        plot(results, args.plot, args.table, args.seeds)


def plot(results: dict, path: str, table: str, seeds: int) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for strategy, rows in results.items():
        budget, regret, half, hours, val, val_half = (list(c) for c in zip(*rows, strict=True))
        panels = ((budget, regret, half), (budget, val, val_half), (hours, regret, half))
        for ax, (x, y, h) in zip(axes, panels, strict=True):
            ax.plot(x, y, marker="o", label=strategy)
            lo = [a - b for a, b in zip(y, h, strict=True)]
            hi = [a + b for a, b in zip(y, h, strict=True)]
            ax.fill_between(x, lo, hi, alpha=0.2)
    budgets = [b for b, *_ in next(iter(results.values()))]
    labels = ("models trained", "models trained", "simulated training hours")
    ylabels = ("test regret", "validation regret", "test regret")
    for ax, xlabel, ylabel in zip(axes, labels, ylabels, strict=True):
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    for ax in axes[:2]:
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.minorticks_off()
    axes[2].xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # no crowded labels
    axes[0].legend()
    fig.suptitle(f"tabular:{table}, mean and 95% CI over {seeds} seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
