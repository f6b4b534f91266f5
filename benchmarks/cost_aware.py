"""Cost-aware search measured: penalized vs accuracy reward, early stopping, latency noise.

Three measurements in one run, on a stratified subset of Fashion-MNIST by default:

1. ``accuracy`` against ``penalized`` reward at equal budget (same seed): validation
   accuracy, params and batch-1 latency of each search's best model.
2. ``--prune`` against no pruning (accuracy reward, same seed): search wall time, the
   share of trials stopped, and how many of the unpruned run's top-5 the pruned run's
   top-5 keeps.
3. Latency repeatability: the coefficient of variation of the batch-1 median latency of a
   few architectures measured ``--repeats`` times each.

    python benchmarks/cost_aware.py [--dataset fashion-mnist] [--subset 6000] [--budget 40]
        [--epochs 3] [--params 20k] [--latency 0.3ms]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from runroot import add_keep_option, run_root

from rlnas.arch import parse
from rlnas.config import SearchConfig
from rlnas.data import load_dataset
from rlnas.evaluation.costs import measure_latency
from rlnas.nn import build
from rlnas.runs import leaderboard
from rlnas.search import run_search


def search(args: argparse.Namespace, root: Path, name: str, **changes: object) -> dict:
    config = SearchConfig(
        dataset=args.dataset, subset=args.subset, budget=args.budget, epochs=args.epochs,
        top_k=0, seed=args.seed, device="cpu", latency=True, latency_threads=1,
        run_dir=str(root / name), **changes,  # type: ignore[arg-type]
    )  # fmt: skip
    start = time.perf_counter()
    summary = run_search(config)
    ranked = leaderboard(summary.trials)
    best = ranked[0].result
    return {
        "name": name,
        "wall": time.perf_counter() - start,
        "val": best.val_acc,
        "params": best.params,
        "latency": best.latency_ms,
        "arch": ranked[0].arch,
        "top5": [t.arch for t in ranked[:5]],
        "pruned": sum(t.result.status.value == "pruned" for t in summary.trials if t.new),
        "trained": sum(t.new for t in summary.trials),
    }


def latency_cv(archs: list[str], shape: tuple[int, int, int], repeats: int) -> list[float]:
    cvs = []
    for text in archs:
        arch = parse(text)
        model = build(arch, shape, arch.num_classes)
        medians = [
            measure_latency(model, shape, batch_size=1, threads=1).median_ms for _ in range(repeats)
        ]
        cvs.append(statistics.stdev(medians) / statistics.mean(medians))
    return cvs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--subset", type=int, default=6000)
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--params", default="20k", help="size limit of the penalized reward")
    parser.add_argument("--latency", default="0.3ms", help="latency limit of penalized")
    parser.add_argument("--repeats", type=int, default=10)
    add_keep_option(parser)
    args = parser.parse_args()
    torch.set_num_threads(2)
    root = run_root(args.keep, "rlnas-cost-")
    penalized = f"penalized:params={args.params},latency={args.latency}"
    runs = [
        search(args, root, "accuracy"),
        search(args, root, "penalized", reward=penalized),
        search(args, root, "accuracy+prune", prune=True),
    ]
    print(f"{args.dataset}, subset {args.subset}, budget {args.budget}, {args.epochs} epochs,")
    print(f"seed {args.seed}; penalized = {penalized}\n")
    print("| search | best val acc | its params | its latency ms | wall s | pruned | best |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in runs:
        print(
            f"| {r['name']} | {r['val']:.4f} | {r['params']:,} | {r['latency']:.3f} "
            f"| {r['wall']:.0f} | {r['pruned']}/{r['trained']} | `{r['arch']}` |"
        )
    full, pruned = runs[0], runs[2]
    kept = len(set(full["top5"]) & set(pruned["top5"]))
    print(
        f"\n--prune: wall time {pruned['wall'] / full['wall']:.2f}x of the unpruned search; "
        f"{kept}/5 of its top-5 are the unpruned top-5"
    )
    archs = sorted({r["arch"] for r in runs})
    cvs = latency_cv(archs, load_dataset(args.dataset).input_shape, args.repeats)
    print(
        f"latency repeatability: CV of the batch-1 median over {args.repeats} measurements, "
        f"{len(archs)} architectures: mean {statistics.mean(cvs):.3f}, max {max(cvs):.3f}"
    )


if __name__ == "__main__":
    main()
