"""Tests of rlnas.nn: building networks from architectures, and their shapes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rlnas.arch import FC, GAP, Architecture, Conv, Layer, Pool, Softmax, parse
from rlnas.nn import Block, BuildOptions, Network, build, output_shapes

INPUT_SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]
ARCHS = [
    "[C(4,3,1), P(2,2), C(6,4,2), FC(8), FC(5), SM(7)]",  # odd and even kernels, FC stack
    "[C(4,5,1), P(3,2), C(6,2,1), P(5,3), GAP(7)]",  # pools down to 1x1 on small inputs
    "[C(3,1,3), C(5,6,1), GAP(7)]",  # 1x1 with stride, kernel larger than the map
    "[P(5,3), P(2,2), SM(7)]",
    "[FC(8), SM(7)]",
    "[SM(7)]",
    "[GAP(7)]",
]


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "bn"])
@pytest.mark.parametrize("input_shape", INPUT_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("text", ARCHS)
def test_builds_runs_and_backpropagates(
    text: str, input_shape: tuple[int, int, int], batch_norm: bool
) -> None:
    torch.manual_seed(0)
    arch = parse(text)
    net = build(arch, input_shape, 7, BuildOptions(batch_norm=batch_norm))
    images = torch.randn(3, *input_shape)  # (B, C, H, W)

    recorded: list[tuple[int, ...]] = []
    for block in net.children():
        block.register_forward_hook(lambda _m, _i, out: recorded.append(tuple(out.shape[1:])))
    logits = net(images)  # (B, 7)

    assert logits.shape == (3, 7)
    assert torch.isfinite(logits).all()
    assert recorded == output_shapes(arch, input_shape)
    nn.functional.cross_entropy(logits, torch.tensor([0, 3, 6])).backward()
    for name, parameter in net.named_parameters():
        assert parameter.grad is not None, name
        assert parameter.grad.shape == parameter.shape and parameter.grad.numel() > 0, name
        assert torch.isfinite(parameter.grad).all(), name


def test_network_is_readable() -> None:
    arch = parse("[C(8,3,1), P(2,2), FC(16), SM(10)]")
    net = build(arch, (1, 28, 28), 10)
    assert isinstance(net, Network) and net.arch == arch and net.num_classes == 10
    assert net.input_shape == (1, 28, 28)
    assert [name for name, _ in net.named_children()] == ["c1", "p2", "fc3", "sm4"]
    assert [block.spec for block in net.children() if isinstance(block, Block)] == list(arch.layers)
    assert "C(8,3,1)" in repr(net) and str(arch) in repr(net)
    assert not any(isinstance(m, nn.Softmax) for m in net.modules())  # logits out


@settings(max_examples=150, deadline=None)
@given(
    side=st.integers(1, 40),
    kernel=st.integers(1, 8),
    stride=st.integers(1, 4),
    channels=st.integers(1, 3),
)
def test_conv_output_side_is_same_padding(
    side: int, kernel: int, stride: int, channels: int
) -> None:
    layer = Conv(2, kernel, stride)
    block = build(Architecture((layer, GAP(2))), (channels, side, side), 2)[0]
    out = block(torch.zeros(1, channels, side, side))  # (1, 2, side', side')
    assert out.shape == (1, 2, layer.output_size(side), layer.output_size(side))
    assert layer.output_size(side) == math.ceil(side / stride)


@settings(max_examples=200, deadline=None)
@given(side=st.integers(1, 40), size=st.integers(1, 6), stride=st.integers(1, 6))
def test_pool_output_side_matches_torch(side: int, size: int, stride: int) -> None:
    layer = Pool(size, stride)
    arch = Architecture((layer, GAP(2)))
    # torch's own ceil-mode size, where torch accepts the window at all
    torch_side = (
        nn.MaxPool2d(size, stride, ceil_mode=True)(torch.zeros(1, 1, side, side)).shape[-1]
        if side >= size
        else None
    )
    assert torch_side in (None, layer.output_size(side))
    block = build(arch, (1, side, side), 2)[0]
    out = block(torch.zeros(1, 1, side, side))  # (1, 1, side', side')
    assert out.shape[-2:] == (layer.output_size(side), layer.output_size(side))


def test_non_square_input() -> None:
    arch = parse("[C(4,4,2), P(3,2), FC(6), SM(3)]")
    net = build(arch, (2, 9, 20), 3)
    assert output_shapes(arch, (2, 9, 20)) == [(4, 5, 10), (4, 2, 5), (6,), (3,)]
    assert net(torch.zeros(2, 2, 9, 20)).shape == (2, 3)


def _dropouts(net: nn.Module) -> list[tuple[str, float]]:
    return [(name, m.p) for name, m in net.named_modules() if isinstance(m, nn.Dropout)]


def test_dropout_placement_and_rates() -> None:
    arch = parse("[C(4,3,1), C(4,3,1), P(2,2), C(4,3,1), FC(8), FC(8), SM(5)]")
    net = build(arch, (1, 8, 8), 5)
    assert _dropouts(net) == [
        ("c2.dropout", 0.5 * 1 / 4),
        ("c4.dropout", 0.5 * 2 / 4),
        ("fc5.dropout", 0.5 * 3 / 4),
        ("fc6.dropout", 0.5 * 4 / 4),
    ]
    # the dropout is the last module of its block (after the ReLU)
    assert list(dict(net.get_submodule("c2").named_children())) == ["conv", "relu", "dropout"]
    # every third layer, and FC6 (both a multiple of 3 and FC) gets one dropout, not two
    net = build(arch, (1, 8, 8), 5, BuildOptions(dropout=0.3, dropout_every=3))
    names, rates = zip(*_dropouts(net), strict=True)
    assert names == ("p3.dropout", "fc5.dropout", "fc6.dropout")
    assert rates == pytest.approx((0.1, 0.2, 0.3))
    assert _dropouts(build(arch, (1, 8, 8), 5, BuildOptions(dropout=0))) == []
    assert _dropouts(build(parse("[SM(5)]"), (1, 8, 8), 5)) == []


@settings(max_examples=50, deadline=None)
@given(
    kinds=st.lists(st.sampled_from("CPF"), max_size=8),
    dropout=st.floats(0.0, 0.9),
    every=st.integers(1, 4),
)
def test_dropout_rule(kinds: list[str], dropout: float, every: int) -> None:
    layers = sorted(kinds, key="CPF".index)  # convs and pools before FCs
    specs: list[Layer] = [{"C": Conv(2, 3, 1), "P": Pool(2, 1), "F": FC(3)}[k] for k in layers]
    arch = Architecture((*specs, Softmax(2)))
    rates = BuildOptions(dropout=dropout, dropout_every=every).dropout_rates(arch)
    expected = [
        i for i, k in enumerate(layers) if dropout > 0 and ((i + 1) % every == 0 or k == "F")
    ]
    assert list(rates) == expected
    n = len(expected)
    assert list(rates.values()) == pytest.approx([dropout * i / n for i in range(1, n + 1)])
    net = build(arch, (1, 6, 6), 2, BuildOptions(dropout=dropout, dropout_every=every))
    assert [p for _, p in _dropouts(net)] == list(rates.values())


@pytest.mark.parametrize(
    "kwargs", [{"dropout": 1.0}, {"dropout": -0.1}, {"dropout_every": 0}, {"batch_norm": 1}]
)
def test_invalid_options_raise(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BuildOptions(**kwargs)  # type: ignore[arg-type]


def test_batch_norm_adds_bn_and_trains() -> None:
    torch.manual_seed(0)
    arch = parse("[C(8,3,1), P(2,2), C(8,4,1), GAP(4)]")
    net = build(arch, (3, 16, 16), 4, BuildOptions(dropout=0, batch_norm=True))
    convs = [net.get_submodule("c1.conv"), net.get_submodule("c3.conv")]
    assert all(isinstance(c, nn.Conv2d) and c.bias is None for c in convs)
    assert list(dict(net.get_submodule("c1").named_children())) == ["conv", "bn", "relu"]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 2
    assert not any(isinstance(m, nn.BatchNorm2d) for m in build(arch, (3, 16, 16), 4).modules())

    images, labels = torch.randn(16, 3, 16, 16), torch.arange(16) % 4  # (B, C, H, W), (B,)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(10):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(net(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(math.isfinite(x) for x in losses) and losses[-1] < losses[0]
    bn = net.get_submodule("c1.bn")
    assert isinstance(bn, nn.BatchNorm2d) and bn.running_mean is not None
    assert bn.running_mean.abs().sum() > 0
    net.eval()
    assert torch.isfinite(net(images[:1])).all()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[FC(8), GAP(4)]", "GAP"),
        ("[C(4,3,1), FC(8), C(4,3,1), SM(4)]", "spatial"),
        ("[FC(8), P(2,2), SM(4)]", "spatial"),
    ],
)
def test_spatial_layer_after_fc_raises(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(parse(text), (1, 8, 8), 4)
    with pytest.raises(ValueError, match=message):
        output_shapes(parse(text), (1, 8, 8))


def test_num_classes_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="num_classes is 10"):
        build(parse("[C(4,3,1), SM(4)]"), (1, 8, 8), 10)


@pytest.mark.parametrize("shape", [(8, 8), (1, 0, 8), (1, 8, 8, 1), (1.0, 8, 8)])
def test_invalid_input_shape_raises(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="input_shape"):
        build(parse("[C(4,3,1), SM(4)]"), shape, 4)


def test_other_families_plug_in_by_registration():
    """A layer type of another family parses (0 allowed where declared), builds through
    its registered builder, and costs are measured from the built module."""
    from rlnas.arch import LAYER_TYPES, ArchitectureSyntaxError, register_layer
    from rlnas.evaluation.costs import activation_memory, count_flops, count_params
    from rlnas.nn.builder import BUILDERS, register_builder

    @dataclass(frozen=True)
    class Tap(Layer):
        source: int
        token: ClassVar[str] = "TAPX"
        family: ClassVar[str] = "toy"
        zero_ok: ClassVar[frozenset[str]] = frozenset({"source"})

    def toy(arch, input_shape, num_classes, options):
        return torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(int(np.prod(input_shape)), num_classes)
        )

    register_layer(Tap)
    register_builder("toy", toy)
    try:
        arch = parse("[TAPX(0), SM(10)]")
        assert arch.family == "toy" and str(arch) == "[TAPX(0), SM(10)]"
        net = build(arch, (1, 8, 8), 10)
        assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
        assert count_params(arch, (1, 8, 8), 10) == 650
        assert count_flops(arch, (1, 8, 8), 10) == 640
        assert activation_memory(arch, (1, 8, 8), 10) == (64 + 64) * 4  # Flatten: 64 in, 64 out
        with pytest.raises(ArchitectureSyntaxError, match="positive integer"):
            parse("[C(0,3,1), SM(10)]")
    finally:
        LAYER_TYPES.pop("TAPX")
        BUILDERS.pop("toy")
