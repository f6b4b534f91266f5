"""Tests of rlnas.evaluation.costs against the networks rlnas.nn.build makes."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from rlnas.arch import FC, GAP, Architecture, Conv, Layer, Pool, Softmax, parse
from rlnas.evaluation.costs import (
    Latency,
    activation_memory,
    count_flops,
    count_params,
    device_fingerprint,
    measure_latency,
)
from rlnas.nn import BuildOptions, build, output_shapes

Case = tuple[Architecture, tuple[int, int, int], BuildOptions]


@st.composite
def legal_cases(draw: st.DrawFn) -> Case:
    """A random valid architecture with an input shape and build options.

    Convs and pools (stride <= window, so no pooling window leaves the input) while the map
    is spatial, then FCs, then SM; GAP only when no FC precedes it.
    """
    input_shape = draw(
        st.sampled_from([(1, 8, 8), (1, 28, 28), (3, 32, 32)])
        | st.tuples(st.integers(1, 3), st.integers(1, 24), st.integers(1, 24))
    )
    layers: list[Layer] = []
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            kernel = draw(st.integers(1, 6))
            layers.append(Conv(draw(st.integers(1, 12)), kernel, draw(st.integers(1, 3))))
        else:
            size = draw(st.integers(1, 5))
            layers.append(Pool(size, draw(st.integers(1, size))))
    layers += [FC(draw(st.integers(1, 24))) for _ in range(draw(st.integers(0, 2)))]
    classes = draw(st.integers(1, 10))
    use_gap = not any(isinstance(layer, FC) for layer in layers) and draw(st.booleans())
    layers.append(GAP(classes) if use_gap else Softmax(classes))
    options = BuildOptions(
        dropout=draw(st.sampled_from([0.0, 0.5])), batch_norm=draw(st.booleans())
    )
    return Architecture(tuple(layers)), input_shape, options


@settings(max_examples=60, deadline=None)
@given(legal_cases())
def test_count_params_equals_built_module(case: Case) -> None:
    arch, input_shape, options = case
    net = build(arch, input_shape, arch.num_classes, options)
    expected = sum(p.numel() for p in net.parameters())
    assert count_params(arch, input_shape, arch.num_classes, options) == expected


@settings(max_examples=60, deadline=None)
@given(legal_cases())
def test_count_flops_is_half_of_flop_counter(case: Case) -> None:
    arch, input_shape, options = case
    net = build(arch, input_shape, arch.num_classes, options).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net(torch.zeros(1, *input_shape))  # (1, classes)
    assert 2 * count_flops(arch, input_shape, arch.num_classes, options) == (
        counter.get_total_flops()
    )


def test_costs_by_hand() -> None:
    arch = parse("[C(8,3,1), P(2,2), FC(16), SM(10)]")
    # C: 1*8*9 + 8; FC: 8*14*14*16 + 16; SM: 16*10 + 10
    assert count_params(arch, (1, 28, 28), 10) == 80 + 25104 + 170
    assert count_params(arch, (1, 28, 28), 10, BuildOptions(batch_norm=True)) == 88 + 25104 + 170
    assert count_flops(arch, (1, 28, 28), 10) == 9 * 8 * 28 * 28 + 1568 * 16 + 160
    gap = parse("[C(4,2,2), GAP(10)]")  # (4,4,4) map, then a 1x1 conv to (10,4,4)
    assert count_params(gap, (3, 8, 8), 10) == (3 * 2 * 2 * 4 + 4) + (4 * 10 + 10)
    assert count_flops(gap, (3, 8, 8), 10) == 3 * 2 * 2 * 4 * 16 + 4 * 10 * 16


def test_activation_memory() -> None:
    arch = parse("[C(8,3,1), P(2,2), FC(16), SM(10)]")
    # peak at P(2,2): (8,28,28) + (8,14,14) floats, more than C(8,3,1): (1,28,28) + (8,28,28)
    assert activation_memory(arch, (1, 28, 28), 10) == 4 * (6272 + 1568)
    # GAP: input (4,4,4) + class map (10,4,4) beats C: (1,8,8) + (4,4,4)
    assert activation_memory(parse("[C(4,2,2), GAP(10)]"), (1, 8, 8), 10) == 4 * (64 + 160)
    assert activation_memory(parse("[SM(10)]"), (3, 32, 32), 10) == 4 * (3072 + 10)


@settings(max_examples=30, deadline=None)
@given(legal_cases())
def test_activation_memory_bounds(case: Case) -> None:
    arch, input_shape, _ = case
    sizes = [torch.Size(s).numel() for s in [input_shape, *output_shapes(arch, input_shape)]]
    memory = activation_memory(arch, input_shape, arch.num_classes)
    assert memory >= 4 * max(a + b for a, b in itertools.pairwise(sizes))
    assert memory <= 4 * 2 * max([*sizes, arch.num_classes * input_shape[1] * input_shape[2]])


@pytest.mark.parametrize("cost", [count_params, count_flops, activation_memory])
def test_costs_reject_what_build_rejects(
    cost: Callable[[Architecture, tuple[int, int, int], int], int],
) -> None:
    with pytest.raises(ValueError, match="num_classes"):
        cost(parse("[C(4,3,1), SM(4)]"), (1, 8, 8), 10)
    with pytest.raises(ValueError, match="GAP"):
        cost(parse("[FC(8), GAP(4)]"), (1, 8, 8), 4)


def test_measure_latency_restores_threads_and_mode() -> None:
    net = build(parse("[C(4,3,1), P(2,2), FC(8), SM(3)]"), (1, 16, 16), 3)
    before = torch.get_num_threads()
    latency = measure_latency(net, (1, 16, 16), batch_size=2, warmup=1, repeats=4, threads=1)
    assert isinstance(latency, Latency)
    assert latency.median_ms > 0 and latency.mean_ms > 0 and latency.std_ms >= 0
    assert (latency.repeats, latency.batch_size, latency.device, latency.threads) == (
        4,
        2,
        "cpu",
        1,
    )
    assert torch.get_num_threads() == before
    assert net.training  # mode restored

    net.eval()
    latency = measure_latency(net, (1, 16, 16), warmup=0, repeats=1)
    assert latency.threads == before and latency.std_ms == 0.0 and latency.median_ms > 0
    assert not net.training


def test_measure_latency_restores_threads_on_error() -> None:
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError):
        measure_latency(nn.Linear(3, 2), (1, 4, 4), threads=1, warmup=0, repeats=1)
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    "kwargs", [{"repeats": 0}, {"batch_size": 0}, {"warmup": -1}, {"threads": 0}]
)
def test_measure_latency_rejects_bad_arguments(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        measure_latency(nn.Identity(), (1, 2, 2), **kwargs)  # type: ignore[arg-type]


def test_device_fingerprint() -> None:
    text = device_fingerprint("cpu")
    assert text.startswith("cpu: ")
    assert f"torch {torch.__version__}" in text
    assert f"{torch.get_num_threads()} threads" in text
