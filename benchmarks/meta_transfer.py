"""Seed 001's experiment in small: meta-train one meta-A2C policy on a few tasks, deploy it
on a held-out task, and compare it with searching that task from scratch.

Per seed: meta-train on ``--meta-tasks`` for ``--steps`` actions; then, on ``--held-out``,
run each method for ``--episodes`` episodes (designed networks, repeats included), all
answering from one shared result cache (a network is trained once per seed):

- ``transferred``: the meta-trained policy, fine-tuned as it searches
- ``frozen``: the meta-trained policy acting without updates (only its memory adapts)
- ``scratch``: meta-A2C from a fresh policy
- ``dqn``: Stable-Baselines3 DQN on :class:`rlnas.env.NasEnv` (seed 001's baseline)
- ``qlearning``, ``random``: MetaQNN's Q-learning and random search on the same space

and report the best validation reward within the first 20 and the first ``--episodes``.
Finally the best network of the transferred policy and the best of all methods are
retrained on train+validation and tested, against a hand-designed shortened VGG in the
same grammar and with the same training recipe.

Full measurement (what RESULTS.md reports; several hours on 2 cores):

    python benchmarks/meta_transfer.py --seeds 3 --steps 3000 --episodes 50

Tiny check of the machinery (fake evaluators with related optima, seconds):

    python benchmarks/meta_transfer.py --fake --seeds 2 --steps 600 --episodes 20
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from runroot import add_keep_option, run_root

from rlnas.arch import Architecture, parse
from rlnas.config import SearchConfig
from rlnas.data.derived import split_names
from rlnas.env import NasEnv
from rlnas.env.baselines import dqn_search
from rlnas.evaluation.base import Evaluator
from rlnas.results import EvalResult
from rlnas.search import build_evaluator, trial_seed
from rlnas.search.meta import MetaTask, meta_train
from rlnas.spaces import SearchSpace, make_space
from rlnas.strategies import Feedback, MetaA2C, QLearning, RandomSearch, Strategy
from rlnas.testing import FakeEvaluator

METHODS = ("transferred", "frozen", "scratch", "dqn", "qlearning", "random")
#: A shortened VGG in the BlockQNN grammar: two blocks of two 3x3 convolutions and a pool.
VGG = "[BC({f},3,1), BC({f},3,1), BMP(2,1), BC({f},3,1), BC({f},3,1), BMP(2,1), BHEAD({u},{n})]"


def evaluators(args: argparse.Namespace, seed: int) -> tuple[list[MetaTask], Evaluator]:
    """The meta-training tasks and the held-out task's evaluator."""
    if args.fake:  # related optima: the held-out target shares most layers with the others
        space = make_space(args.space, input_shape=(1, 8, 8), num_classes=10,
                           overrides=settings(args))  # fmt: skip
        short = {"c3": "BC(32,3,1)", "c5": "BC(32,5,1)", "m2": "BMP(2,1)"}
        head = f"BHEAD({args.head_units},10)"

        def fake(layers: str) -> FakeEvaluator:
            text = "[" + ", ".join([*(short[x] for x in layers.split()), head]) + "]"
            return FakeEvaluator(space, target=parse(text))

        tasks = [
            MetaTask("fake-a", fake("c3 c3 m2 c5 c5")),
            MetaTask("fake-b", fake("c3 c3 m2 c5 c3")),
        ]
        return tasks, fake("c3 c3 m2 c3 c5")

    def real(name: str) -> Evaluator:
        config = SearchConfig(
            dataset=name, epochs=args.epochs, subset=args.subset, seed=seed, device="cpu",
            threads=args.threads, data_dir=args.data_dir,
        )  # fmt: skip
        return build_evaluator(config)

    return [MetaTask(n, real(n)) for n in split_names(args.meta_tasks)], real(args.held_out)


def settings(args: argparse.Namespace) -> dict[str, Any]:
    return {"head_units": args.head_units}


def episodes_of(
    strategy: Strategy, evaluate: Callable[[Architecture], EvalResult], episodes: int
) -> list[tuple[str, float]]:
    """Propose/observe ``episodes`` times; (architecture, reward) per episode."""
    out = []
    for _ in range(episodes):
        proposal = strategy.propose()
        result = evaluate(proposal.architecture)
        reward = out_reward(result)
        strategy.observe(Feedback(proposal, reward, result, True))
        out.append((str(proposal.architecture), reward))
    return out


def out_reward(result: EvalResult) -> float:
    return result.val_acc if result.ok else 1.0 / result.num_classes


def one_seed(args: argparse.Namespace, seed: int, root: Path) -> dict[str, Any]:
    tasks, held_out = evaluators(args, seed)
    start = time.perf_counter()
    policy = root / f"policy-{seed}.pt"
    meta_train(
        tasks, space=args.space, steps=args.steps, seed=seed,
        switch_every=args.switch_every, space_settings=settings(args), out=policy,
    )  # fmt: skip
    meta_seconds = time.perf_counter() - start
    space: SearchSpace[Any] = make_space(
        args.space, input_shape=held_out.input_shape, num_classes=held_out.num_classes,
        overrides=settings(args),
    )  # fmt: skip
    cache: dict[str, EvalResult] = {}

    def evaluate(arch: Architecture) -> EvalResult:
        key = str(arch)
        if key not in cache:
            cache[key] = held_out.evaluate(arch, trial_seed(seed, key))
        return cache[key]

    n, deploy_seed = args.episodes, 1000 + seed
    makers: dict[str, Callable[[], Strategy]] = {
        "transferred": lambda: MetaA2C(space, budget=n, seed=deploy_seed, policy=str(policy)),
        "frozen": lambda: MetaA2C(
            space, budget=n, seed=deploy_seed, policy=str(policy), frozen=True
        ),
        "scratch": lambda: MetaA2C(space, budget=n, seed=deploy_seed),
        "qlearning": lambda: QLearning(space, budget=n, seed=deploy_seed),
        "random": lambda: RandomSearch(space, budget=n, seed=deploy_seed),
    }
    runs: dict[str, list[tuple[str, float]]] = {}
    for method in METHODS:
        if method == "dqn":
            env = NasEnv(space, held_out, seed=seed, cache=cache)
            runs[method] = [
                (r.architecture, r.reward) for r in dqn_search(env, episodes=n, seed=deploy_seed)
            ]
        else:
            runs[method] = episodes_of(makers[method](), evaluate, n)
    row: dict[str, Any] = {"meta_seconds": meta_seconds, "networks": len(cache)}
    for method, run in runs.items():
        row[f"{method}@20"] = max(r for _, r in run[:20])
        row[f"{method}@{n}"] = max(r for _, r in run[:n])
    if args.final_epochs:
        vgg = parse(VGG.format(f=32, u=args.head_units, n=held_out.num_classes))
        best_transferred = max(runs["transferred"], key=lambda x: x[1])[0]
        best_any = max((x for run in runs.values() for x in run), key=lambda x: x[1])[0]
        for name, arch in (("vgg", vgg), ("transferred", parse(best_transferred)),
                           ("best", parse(best_any))):  # fmt: skip
            score = held_out.final(arch, trial_seed(seed, str(arch)), args.final_epochs)
            row[f"test:{name}"] = score.test_acc
            row[f"arch:{name}"] = str(arch)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meta-tasks", default="fashion-mnist[classes=0-4,size=14],"
                        "fashion-mnist[classes=5-9,size=14],digits")  # fmt: skip
    parser.add_argument("--held-out", default="fashion-mnist[classes=0+2+4+6+8,size=12]")
    parser.add_argument("--space", default="blockqnn-chain")
    parser.add_argument("--head-units", type=int, default=128, help="1024 in NasGym; 128 on CPU")
    parser.add_argument("--steps", type=int, default=3000, help="meta-training actions")
    parser.add_argument("--switch-every", type=int, default=50)
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per child")
    parser.add_argument("--subset", type=int, default=3000, help="training images per task")
    parser.add_argument("--final-epochs", type=int, default=10, help="0: skip the final test")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--fake", action="store_true", help="fake evaluators: a quick check")
    add_keep_option(parser)
    args = parser.parse_args()
    if args.fake:
        args.final_epochs = 0
    torch.set_num_threads(args.threads or torch.get_num_threads())
    root = run_root(args.keep, "rlnas-meta-transfer-")
    rows = []
    for seed in range(args.seeds):
        rows.append(one_seed(args, seed, root))
        print(f"seed {seed}: " + ", ".join(
            f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in rows[-1].items()
        ), flush=True)  # fmt: skip
    held = "fake (related optimum)" if args.fake else args.held_out
    print(f"\nheld-out task {held}; {args.seeds} seeds; meta-trained {args.steps} steps")
    print(f"| method | best reward, first 20 | best reward, first {args.episodes} |")
    print("| --- | --- | --- |")
    for method in METHODS:
        cells = [summary([r[f"{method}@{k}"] for r in rows]) for k in (20, args.episodes)]
        print(f"| {method} | {cells[0]} | {cells[1]} |")
    if args.final_epochs:
        print(f"\n| network (retrained {args.final_epochs} epochs) | test accuracy |")
        print("| --- | --- |")
        for name in ("vgg", "transferred", "best"):
            print(f"| {name} | {summary([r[f'test:{name}'] for r in rows])} |")
        for r in rows:
            print(f"best found: {r['arch:best']}")


def summary(values: list[float]) -> str:
    mean = statistics.mean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.4f} ± {spread:.4f}"


if __name__ == "__main__":
    main()
