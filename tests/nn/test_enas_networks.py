"""ENAS networks: every sampled child builds and learns; the super-network shares weights."""

import numpy as np
import pytest
import torch

from rlnas.arch import parse
from rlnas.evaluation.costs import count_flops, count_params
from rlnas.nn import BuildOptions, build, make_supernet
from rlnas.spaces import make_space

SETTINGS = {"num_layers": 6, "filters": [8, 16, 32]}  # 3 stages: skips cross 2 reductions


def space(side):
    return make_space("enas-macro", input_shape=(1, side, side), num_classes=10, overrides=SETTINGS)


@pytest.mark.parametrize("side", [8, 28])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_sampled_children_train_a_step_with_gradients_everywhere(side, batch_norm):
    torch.manual_seed(0)
    s, rng = space(side), np.random.default_rng(side)
    x, y = torch.randn(4, 1, side, side), torch.randint(0, 10, (4,))
    options = BuildOptions(batch_norm=batch_norm)
    for _ in range(25):
        arch, _ = s.sample(rng)
        net = build(arch, (1, side, side), 10, options)
        assert count_params(arch, (1, side, side), 10, options) == sum(
            p.numel() for p in net.parameters()
        )
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        assert torch.isfinite(loss)
        for name, p in net.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), (str(arch), name)
            assert p.grad.abs().sum() > 0, (str(arch), name)


def test_costs_count_what_the_operations_do():
    small = parse("[STEM(8), MAXP(3,0), HEAD(10)]")
    conv = parse("[STEM(8), CONV(3,0), HEAD(10)]")
    sep = parse("[STEM(8), SEP(3,0), HEAD(10)]")
    plain = BuildOptions(batch_norm=False)
    params = [count_params(a, (1, 8, 8), 10, plain) for a in (small, conv, sep)]
    assert params[1] - params[0] == 8 * 8 * 9 + 8  # a 3x3 conv with bias
    assert params[2] - params[0] == 8 * 9 + 8 * 8 + 8  # depthwise, pointwise with bias
    bn = [count_params(a, (1, 8, 8), 10) for a in (small, conv)]  # ReLU-conv-BN
    assert bn[1] - bn[0] == 8 * 8 * 9 + 2 * 8
    assert count_flops(conv, (1, 8, 8), 10) - count_flops(small, (1, 8, 8), 10) == 64 * 8 * 8 * 9


def test_skips_change_the_function_and_cross_reductions():
    x = torch.randn(2, 1, 8, 8)
    plain = parse("[STEM(8), CONV(3,0), CONV(3,0), RED(16), CONV(3,0), CONV(3,0), HEAD(10)]")
    skip = parse("[STEM(8), CONV(3,0), CONV(3,0), RED(16), CONV(3,0), CONV(3,3), HEAD(10)]")
    torch.manual_seed(0)
    a = build(plain, (1, 8, 8), 10, BuildOptions(dropout=0.0, batch_norm=False))
    torch.manual_seed(0)
    b = build(skip, (1, 8, 8), 10, BuildOptions(dropout=0.0, batch_norm=False))
    names = {n for n, _ in b.named_parameters()} - {n for n, _ in a.named_parameters()}
    assert names == {"adapters.0_0.1.weight", "adapters.0_0.1.bias"}  # node 1 crosses RED
    b.load_state_dict(a.state_dict(), strict=False)
    assert not torch.allclose(a(x), b(x))


def supernet_and_children(side=8, count=30):
    s = space(side)
    torch.manual_seed(0)
    net = make_supernet(s.config(), (1, side, side), 10)
    rng = np.random.default_rng(1)
    return s, net, [s.sample(rng)[0] for _ in range(count)]


def test_the_supernet_runs_any_child_as_its_standalone_network_would():
    _, net, children = supernet_and_children()
    x, y = torch.randn(8, 1, 8, 8), torch.randint(0, 10, (8,))
    for arch in children:
        child = build(arch, (1, 8, 8), 10, BuildOptions(batch_norm=True, dropout=0.0))
        loaded = child.load_state_dict(net.child_state_dict(arch), strict=False)
        assert not loaded.unexpected_keys
        assert all("running" in k or "num_batches" in k for k in loaded.missing_keys)
        # batch statistics in both (the super-network never keeps running ones)
        assert torch.allclose(net(x, arch), child.train()(x), atol=1e-5), str(arch)
        net.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(x, arch), y).backward()
        used = {n for n, p in net.named_parameters() if p.grad is not None}
        assert used == set(net.child_state_dict(arch)) & {n for n, _ in net.named_parameters()}


def test_children_with_the_same_operation_at_a_node_update_the_same_tensor():
    _, net, _ = supernet_and_children()
    a = parse(
        "[STEM(8), CONV(3,0), SEP(5,0), RED(16), MAXP(3,0), CONV(5,0), RED(32), SEP(3,0), "
        "AVGP(3,0), HEAD(10)]"
    )
    b = parse(
        "[STEM(8), CONV(3,0), CONV(5,0), RED(16), AVGP(3,1), CONV(5,0), RED(32), SEP(5,5), "
        "MAXP(3,0), HEAD(10)]"
    )
    shared = net.nodes[0]["conv3"][1].weight  # node 1's conv3, used by both children
    only_a = net.nodes[1]["sep5"][1].weight
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = torch.randn(8, 1, 8, 8), torch.randint(0, 10, (8,))
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    for arch, moved in ((a, only_a), (b, None)):
        optimizer.zero_grad(set_to_none=True)
        start = shared.detach().clone()
        torch.nn.functional.cross_entropy(net(x, arch), y).backward()
        assert shared.grad is not None and (moved is None or moved.grad is not None)
        optimizer.step()
        assert not torch.equal(shared, start)  # both children moved the same tensor
    after = dict(net.named_parameters())
    assert not torch.equal(after["nodes.1.sep5.1.weight"], before["nodes.1.sep5.1.weight"])
    untouched = [n for n in before if n.startswith("nodes.4.") and "conv" in n]  # no child
    assert untouched and all(torch.equal(after[n], before[n]) for n in untouched)


def test_the_supernet_rejects_architectures_that_are_not_its_children():
    _, net, _ = supernet_and_children()
    x = torch.randn(2, 1, 8, 8)
    for text in (
        "[STEM(8), CONV(3,0), HEAD(10)]",
        "[STEM(8), CONV(3,0), SEP(5,0), RED(16), MAXP(3,0), CONV(5,0), RED(64), SEP(3,0), "
        "AVGP(3,0), HEAD(10)]",
    ):
        with pytest.raises(ValueError, match="not a child"):
            net(x, parse(text))


def test_batch_norm_is_on_unless_turned_off_as_enas_ops_are_relu_conv_bn():
    arch = parse("[STEM(8), CONV(3,0), RED(16), SEP(5,0), HEAD(10)]")

    def norms(options):
        net = build(arch, (1, 8, 8), 10, options)
        return sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())

    assert norms(BuildOptions()) == norms(BuildOptions(batch_norm=True)) == 4
    assert norms(BuildOptions(batch_norm=False)) == 0
    chain = build(parse("[C(8,3,1), SM(10)]"), (1, 8, 8), 10, BuildOptions())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in chain.modules())  # MetaQNN


def test_rlnas_train_reports_an_invalid_macro_network_in_one_line(capsys):
    from rlnas.cli import main

    assert main(["train", "[STEM(8), CONV(3,0), CONV(3,2), HEAD(10)]", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "node 2 is the node itself" in err
