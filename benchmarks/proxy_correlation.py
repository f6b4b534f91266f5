"""Does the cheap search-time evaluation rank architectures like the final training does?

Samples ``--archs`` architectures of a space (within ``--max-params``), scores each with the
search-time proxy (a stratified ``--subset`` of the training data, ``--epochs`` epochs,
best validation accuracy) and with the final recipe (all the training data,
``--final-epochs`` epochs of ``--final-recipe``, test accuracy), and reports the Spearman
rank correlation between the two, plus the proxy's cost per architecture. A cheap proxy
that ranks wrongly makes the search blind.

    python benchmarks/proxy_correlation.py --dataset fashion-mnist --subset 10000 --epochs 2 \\
        --final-epochs 10 --final-recipe strong --archs 20 --max-params 50000

``--config FILE`` measures the proxy of a search's own config file (its data set, space,
limits, subset, epochs, recipes); flags override it.

``--rows FILE`` ranks networks whose final test accuracy is already measured instead of
sampling and retraining them: JSON lines with ``arch`` and ``test_acc``, e.g. the league's
rows (each run's winner and its final). ``--shortlist-epochs N`` also scores each network
as a search's shortlist does (N epochs of the final recipe on all the training split,
validation accuracy) and reports that ranking's Spearman beside the proxy's:

    python benchmarks/proxy_correlation.py --rows benchmarks/league.jsonl \
        --dataset fashion-mnist --subset 10000 --epochs 4 --batch-norm --shortlist-epochs 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from rlnas.arch import Architecture, parse
from rlnas.config import SearchConfig, load_config
from rlnas.search import build_evaluator, trial_seed
from rlnas.search.components import make_components


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", help="a search's TOML file: its proxy and final recipe")
    parser.add_argument("--dataset")
    parser.add_argument("--space")
    parser.add_argument("--subset", type=int)
    parser.add_argument("--epochs", type=int, help="proxy epochs (default 2)")
    parser.add_argument("--final-epochs", type=int, help="default 8")
    parser.add_argument("--final-recipe", help="default strong")
    parser.add_argument("--archs", type=int, default=12)
    parser.add_argument("--rows", help="JSON lines of measured finals (arch, test_acc)")
    parser.add_argument("--shortlist-epochs", type=int, help="also rank as a shortlist does")
    parser.add_argument("--max-params", type=int)
    parser.add_argument("--max-flops", type=int, help="multiply-adds: bounds the cost too")
    parser.add_argument("--batch-norm", action="store_true", help="batch norm, no dropout")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    values: dict = {"epochs": 2, "final_epochs": 8, "final_recipe": "strong"}
    values.update(load_config(args.config) if args.config else {})
    flags = ("dataset", "space", "subset", "epochs", "final_epochs", "final_recipe",
             "max_params", "max_flops", "seed", "threads")  # fmt: skip
    values.update({k: getattr(args, k) for k in flags if getattr(args, k) is not None})
    if args.batch_norm:  # as the league builds its children: batch norm, no dropout
        train = dict(values.get("train_settings", {}))
        train["build"] = {**train.get("build", {}), "batch_norm": True, "dropout": 0.0}
        values["train_settings"] = train
    values.update(device="cpu", strategy="random", workers=None, executor=None)
    config = SearchConfig.from_dict(values)
    evaluator = build_evaluator(config)
    space = make_components(config, evaluator)[0]  # the search's space, limits included
    measured: dict[Architecture, float] = {}  # final test accuracies from --rows
    if args.rows:
        for line in Path(args.rows).read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                measured.setdefault(parse(row["arch"]), float(row["test_acc"]))
        archs = list(measured)
    else:
        rng = np.random.default_rng(config.seed)
        archs = []
        while len(archs) < args.archs:
            arch = space.sample(rng)[0]
            if arch not in archs:
                archs.append(arch)
    proxy, final, shortlist, params, proxy_seconds = [], [], [], [], []
    for arch in archs:
        seed = trial_seed(config.seed, arch)
        start = time.perf_counter()
        scored = evaluator.evaluate(arch, seed)
        proxy.append(scored.val_acc)
        params.append(scored.params)
        proxy_seconds.append(time.perf_counter() - start)
        if args.shortlist_epochs:
            shortlist.append(evaluator.shortlist_score(arch, seed, args.shortlist_epochs).val_acc)
        known = measured.get(arch)
        if known is None:
            known = evaluator.final(arch, seed, config.final_epochs).test_acc
        final.append(known)
        if not args.json:
            listed = f" {shortlist[-1]:.4f}" if shortlist else ""
            print(f"{proxy[-1]:.4f}{listed} {final[-1]:.4f}  {arch}", flush=True)
    rho = float(spearmanr(proxy, final).statistic)
    result = {
        "spearman": rho,
        "shortlist_spearman": float(spearmanr(shortlist, final).statistic) if shortlist else None,
        # training-free baselines: parameter count, and depth (layers, pooling included)
        "params_spearman": float(spearmanr(params, final).statistic),
        "layers_spearman": float(spearmanr([len(a) for a in archs], final).statistic),
        "archs": len(archs),
        "proxy_seconds_per_arch": statistics.mean(proxy_seconds),
        "best_final": max(final),
        "final_of_best_proxy": final[int(np.argmax(proxy))],
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"Spearman rho(proxy val acc, final test acc) = {rho:.3f} over {len(archs)} "
            f"architectures; proxy {result['proxy_seconds_per_arch']:.1f} s/arch; "
            f"final test of the proxy's best {result['final_of_best_proxy']:.4f} "
            f"(best {result['best_final']:.4f})"
        )
        print(
            f"baselines: rho(parameters, final) = {result['params_spearman']:.3f}, "
            f"rho(layers, final) = {result['layers_spearman']:.3f}"
        )
        if shortlist:
            print(
                f"Spearman rho(shortlist val acc after {args.shortlist_epochs} epochs, final "
                f"test acc) = {result['shortlist_spearman']:.3f}"
            )
    return result


if __name__ == "__main__":
    main()
