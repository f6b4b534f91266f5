"""Zero-cost proxies: training-free scores of a network at initialisation, for screening
candidates before any is trained (``--screen N``).

- ``params``: the parameter count, the baseline every proxy must beat;
- ``synflow`` (Tanaka et al. 2020): with every weight made positive, the sum over weights
  of ``|w * dR/dw|`` where ``R`` is the output summed for an all-ones input; in double
  precision, batch norm at its initial statistics;
- ``naswot`` (Mellor et al. 2021): on one batch of real images, the log-determinant of
  the kernel of the ReLU activation patterns (how differently the network's units split
  different images at initialisation).

Every proxy is computed on the network :func:`rlnas.nn.build` makes, with a seeded
initialisation; higher means more promising. Their Spearman correlation with trained
accuracy is measured in ``benchmarks/proxies.py`` (RESULTS.md, "Zero-cost proxies").
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from rlnas.arch import Architecture
from rlnas.nn import BuildOptions, build

__all__ = ["PROXIES", "naswot", "param_count", "score", "synflow"]


def param_count(model: nn.Module, images: torch.Tensor) -> float:
    """The number of parameters."""
    return float(sum(p.numel() for p in model.parameters()))


def synflow(model: nn.Module, images: torch.Tensor) -> float:
    """SynFlow: ``sum |w * dR/dw|`` with all weights positive, for an all-ones input."""
    model = model.double().eval()
    with torch.no_grad():
        signs = {name: p.sign() for name, p in model.state_dict().items() if p.is_floating_point()}
        for p in model.state_dict().values():
            if p.is_floating_point():
                p.abs_()
    model.zero_grad(set_to_none=True)
    ones = torch.ones((1, *images.shape[1:]), dtype=torch.float64)
    model(ones).sum().backward()
    total = sum(
        float((p.detach() * p.grad).abs().sum()) for p in model.parameters() if p.grad is not None
    )
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if name in signs:
                p.mul_(signs[name])
    return math.log(total) if total > 0 else -math.inf


def naswot(model: nn.Module, images: torch.Tensor) -> float:
    """NASWOT: ``log |det K|`` of the ReLU-pattern kernel of a batch of images."""
    codes: list[torch.Tensor] = []

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        codes.append((output.detach().flatten(1) > 0).double())  # (B, units)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            model.train()  # batch statistics: the paper's setting
            model(images)
    finally:
        for handle in handles:
            handle.remove()
    if not codes:
        return 0.0
    c = torch.cat(codes, dim=1)  # (B, all units)
    kernel = c @ c.T + (1 - c) @ (1 - c).T  # units that agree, per pair of images
    return float(torch.linalg.slogdet(kernel)[1])


#: Proxy name -> ``fn(model, images) -> score``.
PROXIES: dict[str, Callable[[nn.Module, torch.Tensor], float]] = {
    "params": param_count,
    "synflow": synflow,
    "naswot": naswot,
}


def score(
    proxy: str,
    arch: Architecture,
    images: torch.Tensor,
    num_classes: int,
    *,
    seed: int,
    options: BuildOptions | None = None,
) -> float:
    """The ``proxy`` score of ``arch`` at the initialisation ``seed`` gives, on ``images``
    (a batch ``(B, C, H, W)``; the proxies that need no data use only its shape). Runs in a
    forked random stream: the caller's is left alone. ``ValueError`` for an unknown proxy."""
    fn = PROXIES.get(proxy)
    if fn is None:
        raise ValueError(f"unknown proxy {proxy!r}; choose one of {', '.join(PROXIES)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build(arch, tuple(images.shape[1:]), num_classes, options or BuildOptions())
        return fn(model, images)
