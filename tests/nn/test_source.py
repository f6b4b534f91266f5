"""Generated standalone source rebuilds the very network rlnas built: same state-dict keys
and shapes, same outputs, for every kind of layer the spaces sample."""

import ast

import numpy as np
import pytest
import torch
from torch import nn

from rlnas.arch import parse
from rlnas.nn import BuildOptions, build
from rlnas.nn.source import SourceError, leaf_expression, network_source, sequential_source
from rlnas.spaces import make_space

PREAMBLE = "from collections import OrderedDict\nimport torch\nfrom torch import nn\n"


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one thread avoids synchronising threads on every small op."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def load_source(source):
    namespace = {}
    exec(compile(PREAMBLE + source, "<generated>", "exec"), namespace)
    return namespace["Network"]


def assert_same_network(built, generated, input_shape):
    theirs, ours = built.state_dict(), generated.state_dict()
    assert list(theirs) == list(ours)
    assert all(theirs[k].shape == ours[k].shape for k in theirs)
    generated.load_state_dict(theirs)
    built.eval(), generated.eval()
    x = torch.randn(3, *input_shape)
    with torch.no_grad():
        assert torch.equal(built(x), generated(x))


@pytest.mark.parametrize(("side", "batch_norm"), [(8, False), (8, True), (13, False)])
def test_sampled_architectures_round_trip_through_source(side, batch_norm):
    torch.manual_seed(0)
    space = make_space("metaqnn", input_shape=(1, side, side), num_classes=10)
    rng = np.random.default_rng(side + batch_norm)
    options = BuildOptions(batch_norm=batch_norm)
    tokens = set()
    for _ in range(25):
        arch, _ = space.sample(rng)
        tokens |= {layer.token for layer in arch.layers}
        built = build(arch, (1, side, side), 10, options)
        source = network_source(arch, built)
        assert "rlnas" not in source
        assert_same_network(built, load_source(source)(), (1, side, side))
    assert tokens >= {"C", "P", "SM", "GAP"}, tokens  # the sample covered every layer type


def test_even_kernels_padding_and_clamped_pools_survive():
    arch = parse("[C(8,2,1), C(8,4,1), P(5,3), FC(16), FC(16), SM(10)]")
    built = build(arch, (3, 4, 4), 10, BuildOptions(batch_norm=True))
    source = network_source(arch, built)
    assert "ZeroPad2d((0, 1, 0, 1))" in source and "ceil_mode=True" in source
    assert_same_network(built, load_source(source)(), (3, 4, 4))


def test_source_is_annotated_and_valid_python():
    arch = parse("[C(8,3,1), P(2,2), FC(16), SM(10)]")
    source = network_source(arch, build(arch, (1, 8, 8), 10))
    ast.parse(source)
    assert "# C(8,3,1) -> (8, 8, 8)" in source and "# P(2,2) -> (8, 4, 4)" in source
    assert "x = self.fc3(x)  # (B, 16)" in source


def test_unknown_layers_and_non_sequential_networks_are_refused():
    class Skip(nn.Module):
        def forward(self, x):
            return x + x

    with pytest.raises(SourceError, match="Skip"):
        leaf_expression(Skip())
    with pytest.raises(SourceError, match="not a sequence"):
        sequential_source(Skip())
    with pytest.raises(SourceError, match="not a Python identifier"):
        sequential_source(nn.Sequential(nn.ReLU()))


def test_a_family_without_a_generator_is_refused_unless_plainly_sequential():
    from dataclasses import dataclass
    from typing import ClassVar

    from rlnas.arch import Layer, register_layer
    from rlnas.nn.builder import register_builder

    @dataclass(frozen=True)
    class Twice(Layer):
        """A test layer of its own family: a network whose forward doubles its input."""

        times: int
        token: ClassVar[str] = "ZSRC"
        family: ClassVar[str] = "zsrc-test"

    class Doubling(nn.Module):
        def __init__(self, classes):
            super().__init__()
            self.head = nn.Sequential(nn.Flatten(), nn.LazyLinear(classes))

        def forward(self, x):
            return self.head(x + x)

    register_layer(Twice)
    register_builder("zsrc-test", lambda arch, shape, n, options: Doubling(n))
    arch = parse("[ZSRC(2), SM(10)]")
    with pytest.raises(SourceError, match="registered no source generator"):
        network_source(arch, build(arch, (1, 8, 8), 10))
