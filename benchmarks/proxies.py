"""Zero-cost proxies against trained accuracy: Spearman's rho of each proxy, beside the
parameter count's.

On the digits table every architecture has a recorded test accuracy, so every one (or a
``--sample``) is scored at initialisation on a batch of digits images and correlated with
it; the same within the best tenth (where screening must choose). ``--dataset NAME``
instead samples ``--sample`` architectures of ``--space`` (with ``--max-params``), trains
each ``--epochs`` on a ``--subset`` and correlates the proxies with the validation accuracy
(slow: real training).

    python benchmarks/proxies.py [--sample N] [--seeds 3]
    python benchmarks/proxies.py --dataset fashion-mnist --space metaqnn --max-params 50000 \\
        --sample 40 --epochs 3 --subset 10000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from rlnas.arch import parse
from rlnas.data import load_dataset, split_dataset
from rlnas.evaluation.image import DataSpec, TrainConfig, TrainingEvaluator
from rlnas.evaluation.proxies import PROXIES, score
from rlnas.evaluation.tabular import TabularEvaluator
from rlnas.results import trial_seed
from rlnas.spaces import make_space


def table_targets(name: str, sample: int | None, seed: int) -> tuple[list[str], list[float], str]:
    table = TabularEvaluator(name)
    archs = [a for a in table.archs if all(r["status"] == "ok" for r in table._entry(a)["runs"])]
    if sample:
        archs = list(np.random.default_rng(seed).choice(archs, sample, replace=False))
    return archs, [table.test_acc(a) for a in archs], str(table.table["dataset"])


def trained_targets(args: argparse.Namespace) -> tuple[list[str], list[float]]:
    overrides = {"max_params": args.max_params} if args.max_params else {}
    data = DataSpec(args.dataset, subset=args.subset, split_seed=args.seed)
    evaluator = TrainingEvaluator(data, TrainConfig(epochs=args.epochs), threads=args.threads)
    space = make_space(args.space, input_shape=evaluator.input_shape,
                       num_classes=evaluator.num_classes, overrides=overrides)  # fmt: skip
    rng = np.random.default_rng(args.seed)
    archs, accs = [], []
    for i in range(args.sample):
        arch, _ = space.sample(rng)
        result = evaluator.evaluate(arch, trial_seed(args.seed, arch))
        archs.append(str(arch))
        accs.append(result.val_acc)
        print(
            f"{i + 1}/{args.sample} {result.val_acc:.4f} {result.seconds:.0f}s {arch}", flush=True
        )
    return archs, accs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", default="digits-tiny")
    parser.add_argument("--dataset", help="train a sample on this data set instead of the table")
    parser.add_argument("--space", default="metaqnn")
    parser.add_argument("--max-params", type=int)
    parser.add_argument("--sample", type=int)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--subset", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--seeds", type=int, default=3, help="initialisations per proxy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.dataset:
        archs, targets = trained_targets(args)
        dataset = args.dataset
    else:
        archs, targets, dataset = table_targets(args.table, args.sample, args.seed)
    split = split_dataset(load_dataset(dataset), seed=args.seed)
    images = split.x_train[
        torch.randperm(len(split.x_train), generator=torch.Generator().manual_seed(0))[:128]
    ]
    classes = split.num_classes
    targets_a = np.array(targets)
    top = targets_a >= np.quantile(targets_a, 0.9)
    rows = []
    for proxy in PROXIES:
        start = time.perf_counter()
        rhos, top_rhos = [], []
        for s in range(args.seeds if proxy != "params" else 1):
            values = np.array([score(proxy, parse(a), images, classes, seed=s) for a in archs])
            rhos.append(spearmanr(values, targets_a).statistic)
            top_rhos.append(spearmanr(values[top], targets_a[top]).statistic)
        seconds = (time.perf_counter() - start) / len(archs) / len(rhos)
        row = {"proxy": proxy, "archs": len(archs), "spearman": float(np.mean(rhos)),
               "spearman_sd": float(np.std(rhos)), "spearman_top10": float(np.mean(top_rhos)),
               "ms_per_arch": 1000 * seconds}  # fmt: skip
        rows.append(row)
        print(
            f"{proxy:8s} rho {row['spearman']:+.3f} (sd {row['spearman_sd']:.3f} over "
            f"{len(rhos)} inits), within the top 10%: {row['spearman_top10']:+.3f}, "
            f"{row['ms_per_arch']:.1f} ms per architecture",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
