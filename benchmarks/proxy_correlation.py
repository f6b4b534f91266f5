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
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from scipy.stats import spearmanr

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
    parser.add_argument("--max-params", type=int)
    parser.add_argument("--max-flops", type=int, help="multiply-adds: bounds the cost too")
    parser.add_argument("--batch-norm", action="store_true")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    values: dict = {"epochs": 2, "final_epochs": 8, "final_recipe": "strong"}
    values.update(load_config(args.config) if args.config else {})
    flags = ("dataset", "space", "subset", "epochs", "final_epochs", "final_recipe",
             "max_params", "max_flops", "seed", "threads")  # fmt: skip
    values.update({k: getattr(args, k) for k in flags if getattr(args, k) is not None})
    if args.batch_norm:
        train = dict(values.get("train_settings", {}))
        train["build"] = {**train.get("build", {}), "batch_norm": True}
        values["train_settings"] = train
    values.update(device="cpu", strategy="random", workers=None, executor=None)
    config = SearchConfig.from_dict(values)
    evaluator = build_evaluator(config)
    space = make_components(config, evaluator)[0]  # the search's space, limits included
    rng = np.random.default_rng(config.seed)
    archs: list = []
    while len(archs) < args.archs:
        arch = space.sample(rng)[0]
        if arch not in archs:
            archs.append(arch)
    proxy, final, proxy_seconds = [], [], []
    for arch in archs:
        seed = trial_seed(config.seed, arch)
        start = time.perf_counter()
        proxy.append(evaluator.evaluate(arch, seed).val_acc)
        proxy_seconds.append(time.perf_counter() - start)
        final.append(evaluator.final(arch, seed, config.final_epochs).test_acc)
        if not args.json:
            print(f"{proxy[-1]:.4f} {final[-1]:.4f}  {arch}", flush=True)
    rho = float(spearmanr(proxy, final).statistic)
    result = {
        "spearman": rho,
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
    return result


if __name__ == "__main__":
    main()
