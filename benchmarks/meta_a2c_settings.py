"""Meta-A2C's settings side by side on the fake evaluator (BlockQNN chain space, one task,
a 3,000-step run per seed): episodes, distinct networks, the episode at which the optimum
(reward 1.0) was first proposed, and the mean reward of the first and the last 50 episodes.

    python benchmarks/meta_a2c_settings.py [--steps 3000] [--seeds 1]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from rlnas.arch import parse
from rlnas.search.meta import MetaTask, meta_train
from rlnas.spaces import make_space
from rlnas.testing import FakeEvaluator

SETTINGS = {
    "defaults (gamma 1.0, normalised rewards, novel_tries 10)": {},
    "gamma 0.9 (the seed's)": {"gamma": 0.9},
    "gamma 0.9, raw rewards": {"gamma": 0.9, "normalize_rewards": False},
    "gamma 1.0, raw rewards": {"normalize_rewards": False},
    "novel_tries 0": {"novel_tries": 0},
}
TARGET = "[BC(32,3,1), BC(32,3,1), BMP(2,1), BC(32,5,1), BC(32,5,1), BHEAD(1024,10)]"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated parts of setting names")
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = make_space("blockqnn-chain", input_shape=(1, 8, 8), num_classes=10)
    fake = FakeEvaluator(space, target=parse(TARGET))
    print("| settings | seed | episodes | networks | optimum at | first 50 | last 50 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    chosen = [s for s in SETTINGS if not args.only or any(o in s for o in args.only.split(","))]
    for name in chosen:
        hyper = SETTINGS[name]
        for seed in range(args.seeds):
            run = meta_train([MetaTask("fake", fake)], space="blockqnn-chain", steps=args.steps,
                             seed=seed, switch_every=10**9, **hyper)  # fmt: skip
            rewards = np.array([e.reward for e in run.episodes])
            distinct = len({e.architecture for e in run.episodes})
            hits = np.flatnonzero(rewards >= 1.0)
            found = str(hits[0] + 1) if len(hits) else "never"
            first, last = rewards[:50].mean(), rewards[-50:].mean()
            row = f"| {name} | {seed} | {len(rewards)} | {distinct} | {found} "
            print(row + f"| {first:.3f} | {last:.3f} |", flush=True)


if __name__ == "__main__":
    main()
