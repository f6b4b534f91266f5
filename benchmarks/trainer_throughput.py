"""Trainer throughput against a minimal hand-written PyTorch loop, in one run.

Same model, same data, same optimiser, same batch size, same thread count; the two are
interleaved (ours, hand, ours, hand, ...) and the medians compared. Also reports the
GFLOP/s the trainer reaches against this machine's float32 matmul peak.

    python benchmarks/trainer_throughput.py [--dataset fashion-mnist] [--n 10000] [--epochs 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from rlnas.arch import parse
from rlnas.data import load_dataset, split_dataset
from rlnas.evaluation.costs import count_flops
from rlnas.evaluation.image import TrainConfig, train
from rlnas.nn import BuildOptions, build

ARCH = "[C(32,3,1), P(2,2), C(64,3,1), P(2,2), FC(128), SM(10)]"


def hand_loop(arch, x, y, epochs, batch_size, seed):
    """The minimal loop a person would write: shuffle, slice, step."""
    torch.manual_seed(seed)
    model = build(arch, tuple(x.shape[1:]), 10, BuildOptions())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), batch_size):
            idx = perm[i : i + batch_size]
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def matmul_peak(n: int = 1024, repeats: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--n", type=int, default=10000, help="training images used")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    split = split_dataset(load_dataset(args.dataset))
    x, y = split.x_train[: args.n].contiguous(), split.y_train[: args.n].contiguous()
    arch = parse(ARCH)
    config = TrainConfig(epochs=args.epochs, max_restarts=0)
    ours, hand = [], []
    for r in range(args.repeats):
        start = time.perf_counter()
        train(arch, (x, y), None, num_classes=10, config=config, seed=r)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        hand_loop(arch, x, y, args.epochs, config.batch_size, r)
        hand.append(time.perf_counter() - start)
    t_ours, t_hand = statistics.median(ours), statistics.median(hand)
    samples = args.n * args.epochs
    # training ~ 3x the forward pass (forward, input grads, weight grads); 2 FLOPs per MAC
    flops = 3 * 2 * count_flops(arch, tuple(x.shape[1:]), 10) * samples
    peak = matmul_peak()
    print(f"architecture      {ARCH} on {args.dataset} ({args.n} images, {args.epochs} epochs)")
    print(f"rlnas trainer     {t_ours:.2f} s  ({samples / t_ours:,.0f} images/s)")
    print(f"hand-written loop {t_hand:.2f} s  ({samples / t_hand:,.0f} images/s)")
    print(f"ratio hand/rlnas  {t_hand / t_ours:.3f}  (>= 1.0: the trainer is no slower)")
    print(f"trainer GFLOP/s   {flops / t_ours / 1e9:.1f} of matmul peak {peak:.1f} "
          f"({flops / t_ours / 1e9 / peak:.0%})")  # fmt: skip


if __name__ == "__main__":
    main()
