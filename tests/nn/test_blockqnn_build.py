"""Every sampled BlockQNN architecture builds, trains a step and gets gradients."""

import numpy as np
import pytest
import torch

from rlnas.arch import parse
from rlnas.arch.blockqnn import node_shapes
from rlnas.evaluation.costs import count_params
from rlnas.nn import BuildOptions, build
from rlnas.spaces import make_space


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks run fastest on one thread (and do not fight other processes)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(("name", "side", "count"), [
    ("blockqnn", 8, 120), ("blockqnn", 28, 25), ("blockqnn-chain", 8, 60),
    ("blockqnn-chain", 28, 20),
])  # fmt: skip
def test_sampled_architectures_train_a_step(name, side, count):
    torch.manual_seed(0)
    space = make_space(
        name,
        input_shape=(2, side, side),
        num_classes=10,
        overrides={"filters": 8, "head_units": 16},
    )
    rng = np.random.default_rng(side)
    x, y = torch.randn(3, 2, side, side), torch.randint(0, 10, (3,))
    outputs: list[torch.Size] = []
    for _ in range(count):
        arch, _ = space.sample(rng)
        net = build(arch, (2, side, side), 10)
        shapes = node_shapes(arch, (2, side, side))
        outputs.clear()
        hooks = [
            m.register_forward_hook(lambda m, i, o: outputs.append(o.shape[1:])) for m in net.nodes
        ]
        loss = torch.nn.functional.cross_entropy(net(x), y)
        for h in hooks:
            h.remove()
        assert outputs == [torch.Size(s) for s in shapes[1:]], str(arch)  # builder == arithmetic
        loss.backward()
        assert torch.isfinite(loss)
        for pname, p in net.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), (str(arch), pname)


def test_head_follows_nasgym_and_its_options():
    arch = parse("[BC(8,3,1), BC(8,3,2), BHEAD(1024,10)]")  # two leaves: 2 x 8x8x8 flattened
    net = build(arch, (1, 8, 8), 10, BuildOptions(head_dropout=0.25))
    linear1, relu, dropout, linear2 = net.head
    assert (linear1.in_features, linear1.out_features) == (2 * 8 * 8 * 8, 1024)
    assert isinstance(relu, torch.nn.ReLU) and dropout.p == 0.25
    assert (linear2.in_features, linear2.out_features) == (1024, 10)
    conv = net.nodes[0]
    assert [type(m).__name__ for m in conv] == ["ReLU", "Conv2d", "BatchNorm2d"]
    assert count_params(arch, (1, 8, 8), 10) == sum(p.numel() for p in net.parameters())
    direct = build(parse("[BMP(2,1), BHEAD(0,10)]"), (3, 9, 9), 10)
    assert [type(m).__name__ for m in direct.head] == ["Linear"]
    assert direct.head[0].in_features == 3 * 5 * 5
    with pytest.raises(ValueError, match="head_dropout"):
        BuildOptions(head_dropout=1.0)
