"""Train every architecture of a small space and record it: the tabular benchmark.

Trains each architecture of the ``metaqnn-tiny`` space on digits with the project's own
trainer (the `rlnas search` defaults: MetaQNN's recipe, 8 epochs), for 2 seeds, and records
the validation and test accuracy after every epoch, params, FLOPs and training seconds.
Resumable: finished runs are appended to a JSON-lines file and skipped on restart. Writes
``rlnas/evaluation/tables/<name>.json.gz`` with its provenance.

    python benchmarks/make_table.py [--workers 2] [--epochs 8] [--limit N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import rlnas
from rlnas.arch import parse
from rlnas.evaluation.costs import count_flops, count_params
from rlnas.evaluation.image import (
    DataSpec,
    TrainConfig,
    TrainingEvaluator,
    evaluate_accuracy,
    train,
)
from rlnas.search import trial_seed
from rlnas.spaces import make_space

ROOT = Path(__file__).resolve().parent.parent
_EVALUATOR: TrainingEvaluator | None = None


def _init(epochs: int) -> None:
    global _EVALUATOR
    torch.set_num_threads(1)
    _EVALUATOR = TrainingEvaluator(DataSpec("digits"), TrainConfig(epochs=epochs), device="cpu")


def run_one(job: tuple[str, int]) -> dict:
    arch_text, seed = job
    ev = _EVALUATOR
    assert ev is not None
    s = ev.split
    arch = parse(arch_text)
    test_curve: list[float] = []

    def on_epoch(epoch: int, model: torch.nn.Module, curve: list[float]) -> None:
        if epoch == 0:
            test_curve.clear()  # a restart begins again
        test_curve.append(evaluate_accuracy(model, s.x_test, s.y_test))

    start = time.perf_counter()
    out = train(
        arch, (s.x_train, s.y_train), (s.x_val, s.y_val), num_classes=s.num_classes,
        config=ev.train_config, seed=trial_seed(seed, arch_text), on_epoch=on_epoch,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    return {
        "arch": arch_text,
        "seed": seed,
        "status": "failed" if out.failed else "ok",
        "error": out.failed,
        "restarts": out.restarts,
        "val": [round(v, 5) for v in out.val_curve],
        "test": [round(v, 5) for v in test_curve] if not out.failed else [],
        "seconds": round(seconds, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="digits-tiny")
    parser.add_argument("--space", default="metaqnn-tiny")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="only the first N (testing)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    evaluator = TrainingEvaluator(DataSpec("digits"), TrainConfig(epochs=args.epochs), device="cpu")
    space = make_space(
        args.space, input_shape=evaluator.input_shape, num_classes=evaluator.num_classes
    )
    archs = [str(a) for a in space.architectures()][: args.limit]
    out = Path(args.out or ROOT / "rlnas" / "evaluation" / "tables" / f"{args.name}.json.gz")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial.jsonl")
    done = {}
    if partial.exists():
        for line in partial.read_text().splitlines():
            row = json.loads(line)
            done[(row["arch"], row["seed"])] = row
    jobs = [(a, s) for a in archs for s in range(args.seeds) if (a, s) not in done]
    print(f"{len(archs)} architectures x {args.seeds} seeds; {len(done)} done, {len(jobs)} to go")
    t0 = time.perf_counter()
    with (
        partial.open("a") as sink,
        mp.get_context("spawn").Pool(
            args.workers, initializer=_init, initargs=(args.epochs,)
        ) as pool,
    ):
        for i, row in enumerate(pool.imap(run_one, jobs, chunksize=4), start=1):
            sink.write(json.dumps(row) + "\n")
            sink.flush()
            done[(row["arch"], row["seed"])] = row
            if i % 100 == 0:
                rate = i / (time.perf_counter() - t0)
                print(f"{i}/{len(jobs)}  {rate:.1f}/s  eta {(len(jobs) - i) / rate / 60:.1f} min")
    shape = evaluator.input_shape
    table = {
        "name": args.name,
        "space": args.space,
        "space_config": space.config(),
        "dataset": "digits",
        "input_shape": list(shape),
        "num_classes": evaluator.num_classes,
        "epochs": args.epochs,
        "seeds": args.seeds,
        "evaluator_fingerprint": evaluator.fingerprint,
        "provenance": {
            "command": "python " + " ".join(sys.argv),
            "started": started,
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "rlnas": rlnas.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {mp.cpu_count()} cores, "
            f"{args.workers} workers x 1 thread",
        },
        "architectures": {
            a: {
                "params": count_params(parse(a), shape, evaluator.num_classes),
                "flops": count_flops(parse(a), shape, evaluator.num_classes),
                "runs": [
                    {k: v for k, v in done[(a, s)].items() if k not in ("arch", "seed")}
                    for s in range(args.seeds)
                ],
            }
            for a in archs
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt") as f:
        json.dump(table, f, separators=(",", ":"))
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
