"""Torch's threads on a busy machine: one child's training time with 1 or 2 intra-op
threads, OpenMP's spin-waiting on or off, while 0, 1 or 2 other processes keep cores busy.

Each measurement trains the same child (``--arch``) for one epoch on ``--subset`` images of
Fashion-MNIST (digits with ``--dataset digits``) in a fresh process, ``--repeats`` times,
and reports the median wall time. The competitors are plain Python busy loops, one per
core they occupy, started before and stopped after each measurement.

    python benchmarks/threads.py [--subset 6000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import sys, time, torch
from rlnas.arch import parse
from rlnas.data import load_dataset, split_dataset
from rlnas.evaluation.image import TrainConfig, train
threads, dataset, subset, arch = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(threads)
s = split_dataset(load_dataset(dataset), subset=subset, seed=0)
start = time.perf_counter()
train(parse(arch), (s.x_train, s.y_train), None, num_classes=s.num_classes,
      config=TrainConfig(epochs=1), seed=0)
print(time.perf_counter() - start)
"""


def measure(threads: int, passive: bool, busy: int, args: argparse.Namespace) -> float:
    env = dict(os.environ)
    if passive:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    else:
        env.pop("OMP_WAIT_POLICY", None)
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        time.sleep(0.5)
        times = []
        for _ in range(args.repeats):
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(threads), args.dataset, str(args.subset),
                 args.arch], env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            times.append(float(out.stdout.strip().splitlines()[-1]))
        return statistics.median(times)
    finally:
        for p in spinners:
            p.kill()
            p.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--subset", type=int, default=6000)
    parser.add_argument("--arch", default="[C(32,3,1), C(32,3,1), P(2,2), C(64,3,1), SM(10)]")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    print("| busy cores | threads | OpenMP wait | seconds | vs 1 thread, same load |")
    print("| ---: | ---: | --- | ---: | ---: |")
    for busy in (0, 1, 2):
        base = None
        for passive in (False, True):
            for threads in (1, 2):
                seconds = measure(threads, passive, busy, args)
                if threads == 1:
                    base = seconds
                ratio = seconds / base if base else 1.0
                rows.append({"busy": busy, "threads": threads, "passive": passive,
                             "seconds": seconds, "ratio": ratio})  # fmt: skip
                policy = "passive" if passive else "default (spins)"
                print(
                    f"| {busy} | {threads} | {policy} | {seconds:.2f} | {ratio:.2f} |", flush=True
                )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
