"""Every architecture a space can sample builds, trains a step and gets gradients."""

import numpy as np
import pytest
import torch

from rlnas.evaluation.costs import count_params
from rlnas.nn import BuildOptions, build
from rlnas.spaces import make_space


@pytest.mark.parametrize(
    ("preset", "side", "count"),
    [("metaqnn", 8, 200), ("metaqnn", 28, 200), ("metaqnn-tiny", 8, 50), ("metaqnn-paper", 8, 20)],
)
@pytest.mark.parametrize("batch_norm", [False, True])
def test_sampled_architectures_train_a_step(preset, side, count, batch_norm):
    torch.manual_seed(0)
    space = make_space(preset, input_shape=(1, side, side), num_classes=10)
    rng = np.random.default_rng(side)
    x, y = torch.randn(4, 1, side, side), torch.randint(0, 10, (4,))
    for _ in range(count):
        arch, _ = space.sample(rng)
        options = BuildOptions(batch_norm=batch_norm)
        net = build(arch, (1, side, side), 10, options)
        assert sum(p.numel() for p in net.parameters()) == count_params(
            arch, (1, side, side), 10, options
        )
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        assert torch.isfinite(loss)
        for name, p in net.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), (str(arch), name)
