"""What a network costs: parameters, FLOPs and activation memory (analytic, from the
architecture alone), and measured latency.

The analytic counts follow the modules :func:`rlnas.nn.build` makes, layer by layer, via
the shapes of :mod:`rlnas.arch.shapes`, so they need no network to be built:

>>> from rlnas.arch import parse
>>> arch = parse("[C(8,3,1), P(2,2), FC(16), SM(10)]")
>>> count_params(arch, (1, 28, 28), 10)  # 80 + 0 + 25104 + 170
25354
>>> count_flops(arch, (1, 28, 28), 10)  # 56448 + 0 + 25088 + 160 multiply-accumulates
81696
>>> activation_memory(arch, (1, 28, 28), 10)  # P(2,2): (6272 + 1568) floats
31360
"""

from __future__ import annotations

import functools
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rlnas.arch import GAP, Architecture, Layer
from rlnas.arch.shapes import (
    Shape,
    check_num_classes,
    layer_macs,
    layer_params,
    layer_shapes,
    numel,
)
from rlnas.nn.options import BuildOptions

__all__ = [
    "Latency",
    "activation_memory",
    "count_flops",
    "count_params",
    "device_fingerprint",
    "measure_latency",
]

#: Bytes per activation element (float32).
FLOAT32_BYTES = 4


def _layers(
    arch: Architecture, input_shape: Sequence[int], num_classes: int
) -> list[tuple[Layer, Shape, Shape]]:
    check_num_classes(arch, num_classes)
    return list(layer_shapes(arch, input_shape))


def count_params(
    arch: Architecture,
    input_shape: Sequence[int],
    num_classes: int,
    options: BuildOptions | None = None,
) -> int:
    """Number of trainable parameters of ``build(arch, input_shape, num_classes, options)``.

    Equal to ``sum(p.numel() for p in network.parameters())``: conv weights and biases (no
    bias with batch norm, whose scale and shift count instead; running statistics are
    buffers, not parameters), linear weights and biases, and the GAP layer's 1x1 conv.
    Raises :class:`ValueError` for the architectures :func:`rlnas.nn.build` rejects.
    """
    if arch.family != "chain":
        return _measured(arch, tuple(input_shape), num_classes, options)[0]
    batch_norm = bool((BuildOptions() if options is None else options).batch_norm)
    return sum(
        layer_params(layer, i, o, batch_norm)
        for layer, i, o in _layers(arch, input_shape, num_classes)
    )


def count_flops(
    arch: Architecture,
    input_shape: Sequence[int],
    num_classes: int,
    options: BuildOptions | None = None,
) -> int:
    """Multiply-accumulates (MACs, the usual "FLOPs" of CNN papers) for one sample.

    Counts the products of convolutions (``C_in * k * k * C_out * H_out * W_out``, zero
    padding included), linear layers (``in * out``) and the GAP layer's 1x1 convolution.
    Bias additions, batch norm, ReLU, pooling, averaging and dropout are not counted (they
    are linear in the activation size, small next to the products). This is half of what
    ``torch.utils.flop_counter.FlopCounterMode`` reports, which counts a MAC as 2 FLOPs.
    ``options`` does not change the count; it is accepted so every cost takes the same
    arguments. Raises :class:`ValueError` for the architectures :func:`rlnas.nn.build`
    rejects.
    """
    if arch.family != "chain":
        return _measured(arch, tuple(input_shape), num_classes, options)[1]
    del options  # batch norm and dropout add no multiply-accumulates
    return sum(layer_macs(layer, i, o) for layer, i, o in _layers(arch, input_shape, num_classes))


def activation_memory(arch: Architecture, input_shape: Sequence[int], num_classes: int) -> int:
    """Estimated peak bytes of activations for one float32 sample during inference.

    The maximum over layers of (input elements + output elements) * 4: in inference only a
    layer's input and output need to be alive at once. The GAP layer counts as two steps
    (1x1 conv to an ``(n, H, W)`` map, then averaging). Not counted: weights, the padded
    copy an even-kernel conv makes, a batch-norm output next to its conv output, and
    allocator overhead; multiply by the batch size for a batch. Raises
    :class:`ValueError` for the architectures :func:`rlnas.nn.build` rejects.
    """
    if arch.family != "chain":
        return _measured(arch, tuple(input_shape), num_classes, None)[2]
    peak = 0
    for layer, in_shape, out_shape in _layers(arch, input_shape, num_classes):
        if isinstance(layer, GAP):
            _, height, width = in_shape
            scores = layer.classes * height * width  # the (classes, H, W) map before averaging
            live = max(numel(in_shape) + scores, scores + numel(out_shape))
        else:
            live = numel(in_shape) + numel(out_shape)
        peak = max(peak, live)
    return peak * FLOAT32_BYTES


@functools.lru_cache(maxsize=256)
def _measured(
    arch: Architecture,
    input_shape: Sequence[int],
    num_classes: int,
    options: BuildOptions | None,
) -> tuple[int, int, int]:
    """Params, MACs and activation bytes of a non-chain family, from its built module.

    MACs are half of ``FlopCounterMode``'s FLOPs on one sample; activation bytes are the
    largest (input + output) elements of any leaf module, times 4.
    """
    from torch.utils.flop_counter import FlopCounterMode

    from rlnas.nn import build

    model = build(arch, tuple(input_shape), num_classes, options).eval()
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    peak = [0]

    def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        size = sum(t.numel() for t in inputs if isinstance(t, torch.Tensor))
        if isinstance(output, torch.Tensor):
            size += output.numel()
        peak[0] = max(peak[0], size)

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
    return params, counter.get_total_flops() // 2, peak[0] * FLOAT32_BYTES


@dataclass(frozen=True)
class Latency:
    """Wall-clock time of one forward pass of a batch, over ``repeats`` timed runs."""

    median_ms: float
    mean_ms: float
    #: Sample standard deviation (0 for a single run).
    std_ms: float
    repeats: int
    batch_size: int
    device: str
    #: ``torch.get_num_threads()`` during the measurement.
    threads: int


def measure_latency(
    model: nn.Module,
    input_shape: Sequence[int],
    *,
    batch_size: int = 1,
    device: str | torch.device = "cpu",
    warmup: int = 5,
    repeats: int = 20,
    threads: int | None = None,
) -> Latency:
    """Time ``model`` on a random ``(batch_size, *input_shape)`` batch.

    Runs ``warmup`` untimed then ``repeats`` timed forward passes in eval mode under
    ``torch.inference_mode()``, synchronising CUDA around each timed pass. The model is
    moved to ``device`` in place (as ``Module.to`` does) and its train/eval mode is
    restored afterwards. ``threads``, if given, sets ``torch.set_num_threads`` for the
    measurement only; the previous count is restored even on error. The input comes from
    a private generator, so the global RNG is untouched. Raises :class:`ValueError` for
    ``batch_size``, ``repeats`` or ``threads`` below 1 or a negative ``warmup``.
    """
    if batch_size < 1 or repeats < 1 or warmup < 0 or (threads is not None and threads < 1):
        raise ValueError(
            f"need batch_size >= 1, repeats >= 1, warmup >= 0 and threads >= 1, got "
            f"batch_size={batch_size}, repeats={repeats}, warmup={warmup}, threads={threads}"
        )
    target = torch.device(device)
    previous_threads = torch.get_num_threads()
    was_training = model.training
    generator = torch.Generator().manual_seed(0)
    batch = torch.randn(batch_size, *input_shape, generator=generator).to(target)  # (B, C, H, W)
    times_ms: list[float] = []
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        used_threads = torch.get_num_threads()
        model.to(target).eval()
        with torch.inference_mode():
            for run in range(warmup + repeats):
                _synchronize(target)
                start = time.perf_counter()
                model(batch)  # (B, num_classes)
                _synchronize(target)
                if run >= warmup:
                    times_ms.append((time.perf_counter() - start) * 1000.0)
    finally:
        if threads is not None:
            torch.set_num_threads(previous_threads)
        model.train(was_training)
    return Latency(
        median_ms=statistics.median(times_ms),
        mean_ms=statistics.fmean(times_ms),
        std_ms=statistics.stdev(times_ms) if len(times_ms) > 1 else 0.0,
        repeats=repeats,
        batch_size=batch_size,
        device=str(target),
        threads=used_threads,
    )


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_fingerprint(device: str | torch.device = "cpu") -> str:
    """A one-line description of where latencies were measured, to store next to them.

    ``"<device>: <CPU model or GPU name> | torch <version> | <n> threads"``; the CPU model
    comes from ``/proc/cpuinfo`` where it exists, else :mod:`platform`; the GPU name from
    ``torch.cuda.get_device_name`` (with the CUDA version appended).
    """
    target = torch.device(device)
    parts = []
    if target.type == "cuda":
        parts.append(f"{target}: {torch.cuda.get_device_name(target)}")
        parts.append(f"torch {torch.__version__} (CUDA {torch.version.cuda})")
    else:
        parts.append(f"{target}: {_cpu_name()}")
        parts.append(f"torch {torch.__version__}")
    parts.append(f"{torch.get_num_threads()} threads")
    return " | ".join(parts)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"
