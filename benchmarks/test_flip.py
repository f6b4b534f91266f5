"""What test-time flips are worth: one architecture's final training (as a search's final
retraining: train+validation, the config's final recipe and epochs), its test accuracy in
one pass and with each image's left-right mirror, from the same trained model, for each
training seed; the mean gain with a 95% interval.

    python benchmarks/test_flip.py --config benchmarks/fashion_goal.toml --seeds 0 \\
        "[C(16,3,1), C(32,3,1), P(5,3), C(32,3,1), C(24,5,1), P(2,2), C(32,3,1), P(3,2), GAP(10)]"
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from dataclasses import replace

from rlnas.arch import parse
from rlnas.config import SearchConfig, load_config
from rlnas.search import build_evaluator


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("arch", nargs="+")
    parser.add_argument("--config", required=True, help="a search's TOML file")
    parser.add_argument("--dataset", help="instead of the config's")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds")
    parser.add_argument("--final-epochs", type=int, help="instead of the config's")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    values = load_config(args.config)
    if args.dataset:
        values["dataset"] = args.dataset
    config = SearchConfig.from_dict(values, source=args.config)
    evaluator = build_evaluator(config)
    evaluator.final_config = replace(evaluator.final_config, test_flip=True)  # type: ignore[attr-defined]
    epochs = args.final_epochs or config.final_epochs
    gains, rows = [], []
    for text in args.arch:
        for seed in args.seeds:
            score = evaluator.final(parse(text), seed, epochs)  # type: ignore[attr-defined]
            one = score.metrics["test_acc_one_pass"]
            gains.append(score.test_acc - one)
            rows.append({"arch": text, "seed": seed, "one_pass": one,
                         "flipped": score.test_acc, "minutes": score.seconds / 60})  # fmt: skip
            print(f"seed {seed}  one pass {one:.4f}  flipped {score.test_acc:.4f}  "
                  f"{score.seconds / 60:.1f} min  {text}", flush=True)  # fmt: skip
    half = 1.96 * statistics.stdev(gains) / math.sqrt(len(gains)) if len(gains) > 1 else math.nan
    summary = {"rows": rows, "mean_gain": statistics.mean(gains), "ci95": half}
    print(f"gain of the flips: {summary['mean_gain'] * 100:+.2f} points "
          f"(+- {half * 100:.2f}, {len(gains)} trainings, {epochs} epochs)")  # fmt: skip
    if args.json:
        print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
