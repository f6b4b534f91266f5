"""Recurrent cells as PyTorch modules: every sampled cell runs forward and backward with a
gradient on every parameter; the cell is a drop-in recurrent layer; parameter counts are
exact; a child of the super-network computes what its standalone model computes."""

import numpy as np
import pytest
import torch
from torch import nn

from rlnas.arch import parse
from rlnas.arch.rnn import equal_size_lstm, rnn_plan
from rlnas.nn import build
from rlnas.nn.options import BuildOptions
from rlnas.nn.rnn import CellRNN, LanguageModel, RnnSuperNet
from rlnas.spaces import make_space

VOCAB = 11
SPACE = make_space(
    "rnn-cell", input_shape=(1, 1, 1), num_classes=VOCAB,
    overrides={"num_nodes": 5, "embedding_size": 6, "hidden_size": 8},
)  # fmt: skip
NO_DROPOUT = BuildOptions(dropout=0.0)


def sampled(count=24, seed=0):
    rng = np.random.default_rng(seed)
    return [SPACE.sample(rng)[0] for _ in range(count)]


def test_every_sampled_cell_runs_a_sequence_with_gradients_everywhere():
    torch.manual_seed(0)
    tokens = torch.randint(0, VOCAB, (7, 3))  # (T, B)
    for arch in [*sampled(), equal_size_lstm(sampled(1)[0])]:
        model = build(arch, (1, 1, 1), VOCAB, BuildOptions(dropout=0.2))
        logits, state = model(tokens)
        assert logits.shape == (7, 3, VOCAB)
        logits, _ = model(tokens, state)  # the state carries into the next segment
        loss = nn.functional.cross_entropy(logits.reshape(-1, VOCAB), tokens.reshape(-1))
        loss.backward()
        assert torch.isfinite(loss)
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), (arch, name)
            assert p.grad.abs().sum() > 0, (arch, name)  # every matrix is used
        assert sum(p.numel() for p in model.parameters()) == rnn_plan(arch).params()


def test_the_cell_is_a_drop_in_recurrent_layer():
    arch = parse("[CELL(6,8), TANH(0), RELU(1), SIGM(1), IDENT(2), LM(11)]")
    torch.manual_seed(0)
    cell = CellRNN(rnn_plan(arch).nodes, 6, 8)
    x = torch.randn(10, 4, 6)  # (T, B, input)
    out, h = cell(x)
    assert out.shape == (10, 4, 8) and h.shape == (1, 4, 8)
    assert torch.equal(out[-1], h[0])
    first, h1 = cell(x[:4])  # in two segments, carrying the state: the same sequence
    second, h2 = cell(x[4:], h1)
    torch.testing.assert_close(torch.cat([first, second]), out)
    torch.testing.assert_close(h2, h)
    reference = nn.RNN(6, 8)  # the interface it replaces
    ref_out, ref_h = reference(x, torch.zeros(1, 4, 8))
    assert (ref_out.shape, ref_h.shape) == (out.shape, h.shape)
    # any recurrent layer with that interface fits the language model, and vice versa
    for rnn in (cell, reference):
        logits, state = LanguageModel(VOCAB, 6, 8, rnn)(torch.zeros(5, 2, dtype=torch.long))
        assert logits.shape == (5, 2, VOCAB) and state.shape == (1, 2, 8)


def test_the_output_is_the_mean_of_the_loose_ends():
    arch = parse("[CELL(2,3), IDENT(0), IDENT(1), IDENT(1), LM(4)]")  # loose ends: 2 and 3
    cell = CellRNN(rnn_plan(arch).nodes, 2, 3)
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        cell.edges["n2_from1"].bias[:] = torch.tensor([50.0, 50, 50, 1, 2, 3])  # gate ~1
        cell.edges["n3_from1"].bias[:] = torch.tensor([50.0, 50, 50, 5, 5, 5])
    out, _ = cell(torch.zeros(1, 1, 2))  # node 1: gate 0.5 of value 0 and h 0 -> 0
    torch.testing.assert_close(out[0, 0], torch.tensor([3.0, 3.5, 4.0]))


def test_a_child_of_the_super_network_computes_its_standalone_model():
    torch.manual_seed(0)
    net = RnnSuperNet.from_space(SPACE.config())
    tokens = torch.randint(0, VOCAB, (6, 2))
    for arch in sampled(5, seed=3):
        child = build(arch, (1, 1, 1), VOCAB, NO_DROPOUT)
        child.load_state_dict(net.child_state_dict(arch))  # strict: exactly its tensors
        net.eval()
        expected, _ = net.run(tokens, None, arch)
        got, _ = child(tokens)
        torch.testing.assert_close(got, expected)
    with pytest.raises(ValueError, match="not a child of this super-network"):
        net.run(tokens, None, parse("[CELL(6,8), TANH(0), LM(11)]"))
