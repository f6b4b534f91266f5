"""Q-learning, REINFORCE, ENAS and random search at equal wall time, side by side.

Each run gets the same search time (``--minutes``), the same child training
(``--epochs``) and the same final retraining of its best architecture on
train+validation (``--final-epochs``, scored once on the test split). Reported per run:
test accuracy and params of the best, models trained from scratch, architectures
evaluated per minute of search (for ENAS: children scored under the shared weights plus
those trained), and the seconds of the search and of the final retraining.

Calibration, in scratch runs not counted: three random children of each space are
trained to estimate how many fit in the time (``B``). Every from-scratch run gets a
budget of ``10 B``, so the time limit binds; Q-learning's epsilon schedule is scaled to
``B`` (``schedule_models``) and it goes on at the last epsilon if children turn out
faster than the estimate (if slower, the schedule keeps pace with the time). ENAS's
phase must end inside the time limit: one epoch is timed and ``num_epochs`` is set so
the phase takes about ``--enas-share`` of the search time; it
then trains up to ``(1 - share) B`` of its ranked candidates.

    python benchmarks/nas_strategies.py --dataset fashion-mnist --minutes 30
    python benchmarks/nas_strategies.py --minutes 0.5 --subset 500 --epochs 1   # smoke test

Runs are ``strategy:space`` pairs (``--runs``); each strategy has a random-search
baseline in its own space. Strategy settings for small budgets: REINFORCE uses learning
rate 0.01 (Zoph & Le's 6e-4 is for ~10,000 children); override with ``--reinforce-lr``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from runroot import add_keep_option, run_root

from rlnas.config import SearchConfig
from rlnas.runs import ranking
from rlnas.search import Monitor, SearchStatus, run_search
from rlnas.strategies import PhaseReport

DEFAULT_RUNS = (
    "qlearning:metaqnn,random:metaqnn,reinforce:enas-macro,enas:enas-macro,random:enas-macro"
)


class PhaseTimer(Monitor):
    """Records the seconds of the epochs and of the ranking of a weight-sharing phase."""

    def __init__(self) -> None:
        self.epochs: list[float] = []
        self.ranking = 0.0

    def on_phase(self, report: PhaseReport, status: SearchStatus) -> None:
        if "epoch" in report.info:
            self.epochs.append(report.info["seconds"])
        else:
            self.ranking = report.info["seconds"]


def base_config(args: argparse.Namespace, strategy: str, space: str, root: Path) -> SearchConfig:
    settings: dict[str, Any] = {}
    if strategy == "reinforce":
        settings = {"learning_rate": args.reinforce_lr}
    return SearchConfig(
        dataset=args.dataset, strategy=strategy, space=space, budget=1,
        time_limit=args.minutes * 60, epochs=args.epochs, final_epochs=args.final_epochs,
        top_k=1, seed=args.seed, subset=args.subset, device=args.device, threads=args.threads,
        run_dir=str(root / f"{strategy}-{space}"), strategy_settings=settings,
    )  # fmt: skip


def calibrate_budget(config: SearchConfig, root: Path) -> int:
    """How many children of ``config.space`` fit in the time limit, from three."""
    probe = replace(
        config, strategy="random", budget=3, top_k=0, time_limit=None, strategy_settings={},
        run_dir=str(root / f"calibration-{config.space}"),
    )  # fmt: skip
    summary = run_search(probe)
    per_child = max(sum(t.result.seconds for t in summary.trials) / 3, 1e-3)
    budget = max(1, int((config.time_limit or 0) / per_child))
    print(f"{config.space}: a child trains in {per_child:.1f}s; about {budget} fit", flush=True)
    return budget


def calibrate_enas(config: SearchConfig, args: argparse.Namespace, root: Path) -> int:
    """ENAS epochs that, with the ranking, fill ``--enas-share`` of the search time,
    from one timed epoch and one timed ranking."""
    timer = PhaseTimer()
    probe = replace(
        config, budget=1, top_k=0, time_limit=None, run_dir=str(root / "enas-calibration"),
        strategy_settings={**config.strategy_settings, "num_epochs": 1},
    )  # fmt: skip
    run_search(probe, monitor=timer)
    per_epoch, ranking = timer.epochs[0], timer.ranking
    share = args.enas_share * args.minutes * 60 - ranking
    epochs = max(1, int(share / per_epoch))
    print(
        f"ENAS: an epoch takes {per_epoch:.1f}s, the ranking {ranking:.1f}s; num_epochs = {epochs}",
        flush=True,
    )
    return epochs


def measure(config: SearchConfig) -> dict[str, Any]:
    start = time.perf_counter()
    summary = run_search(config)
    wall = time.perf_counter() - start
    trained = [t for t in summary.trials if t.new]
    evaluated = len(trained)
    if config.strategy == "enas" and summary.trials:
        evaluated += int(summary.trials[-1].info.get("evaluated", 0))
    best = ranking(summary.trials, summary.finals)[0] if summary.trials else None
    minutes = summary.search_seconds / 60
    return {
        "strategy": config.strategy,
        "space": config.space,
        "test_acc": best.test_acc if best else None,
        "val_acc": best.val_acc if best else None,
        "params": best.params if best else None,
        "arch": best.arch if best else None,
        "trained": len(trained),
        "evaluated_per_minute": evaluated / minutes if minutes else 0.0,
        "search_seconds": summary.search_seconds,
        "final_seconds": wall - summary.search_seconds,
        "stopped": summary.stopped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--minutes", type=float, default=30.0, help="search time per run")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per child")
    parser.add_argument("--final-epochs", type=int, default=10)
    parser.add_argument("--subset", type=int, default=None, help="search on N training images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", default=DEFAULT_RUNS, help="strategy:space pairs")
    parser.add_argument("--enas-share", type=float, default=0.5)
    parser.add_argument("--reinforce-lr", type=float, default=0.01)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    add_keep_option(parser)
    args = parser.parse_args()
    root = run_root(args.keep, "rlnas-nas-")
    rows = []
    budgets: dict[str, int] = {}
    for pair in args.runs.split(","):
        strategy, space = pair.split(":")
        config = base_config(args, strategy, space, root)
        if space not in budgets:
            budgets[space] = calibrate_budget(config, root)
        fits = budgets[space]
        config = replace(config, budget=10 * fits)
        if strategy == "qlearning":
            settings = {**config.strategy_settings, "schedule_models": fits}
            config = replace(config, strategy_settings=settings)
        if strategy == "enas":
            epochs = calibrate_enas(config, args, root)
            config = replace(
                config,
                budget=max(1, int((1 - args.enas_share) * fits)),
                strategy_settings={**config.strategy_settings, "num_epochs": epochs},
            )
        rows.append(measure(config))
        print(json.dumps(rows[-1]), flush=True)
        if args.json:  # after each run: a long benchmark stopped midway keeps its rows
            Path(args.json).write_text(json.dumps(rows, indent=2))
    print(f"\n{args.dataset}, {args.minutes:g} min of search per run, {args.epochs} epochs per "
          f"child, best retrained {args.final_epochs} epochs, seed {args.seed}\n")  # fmt: skip
    print("| strategy | space | test acc of best | params | trained | evaluated / min | "
          "search s | final s |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        test = f"{r['test_acc']:.4f}" if r["test_acc"] is not None else "-"
        params = f"{r['params']:,}" if r["params"] is not None else "-"
        print(
            f"| {r['strategy']} | {r['space']} | {test} | {params} | {r['trained']} | "
            f"{r['evaluated_per_minute']:.1f} | {r['search_seconds']:.0f} | "
            f"{r['final_seconds']:.0f} |"
        )


if __name__ == "__main__":
    main()
