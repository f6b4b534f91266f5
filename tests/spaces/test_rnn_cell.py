"""The rnn-cell MDP: exactly ENAS's cells, each reachable by one path; configurable N; the
controller learns on it."""

import numpy as np
import pytest

from rlnas.arch import parse
from rlnas.arch.rnn import rnn_plan
from rlnas.config import apply_settings
from rlnas.spaces import RnnCellConfig, RnnCellSpace, make_space
from rlnas.strategies import Feedback, make_strategy
from rlnas.testing import FakeEvaluator


def settings(nodes, **more):
    return {"num_nodes": nodes, "embedding_size": 8, "hidden_size": 16, **more}


def space(nodes=3, **more):
    return make_space(
        "rnn-cell", input_shape=(1, 1, 1), num_classes=20, overrides=settings(nodes, **more)
    )


@pytest.mark.parametrize("nodes", [1, 2, 3, 4])
def test_the_space_is_every_cell_of_n_nodes_once(nodes):
    s = space(nodes)
    archs = s.architectures()
    # node 1: 4 activations; node i >= 2: i - 1 inputs x 4 activations
    assert len(archs) == len(set(archs)) == 4**nodes * int(np.prod(range(1, nodes)))
    assert s.horizon == 2 * nodes - 1
    for arch in archs:
        plan = rnn_plan(arch)  # valid: every node reads a node before it
        assert (len(plan.nodes), plan.embedding, plan.hidden, plan.vocab) == (nodes, 8, 16, 20)
        assert parse(str(arch)) == arch
        ids = s.trajectory(arch)
        assert len(ids) == s.horizon and s.architecture(s.rollout(ids)) == arch


def test_legal_actions_and_encodings():
    s = space(4)
    assert s.vocabulary == ("tanh", "relu", "sigmoid", "identity", "from1", "from2", "from3")
    state = s.initial_state()
    offered = []
    while not s.is_terminal(state):
        legal = s.actions(state)
        offered.append(tuple(s.vocabulary[a] for a in legal))
        assert s.encode(state).shape == (4 + 2 + 7,) and s.encode(state).sum() <= 3
        state = s.step(state, legal[-1])
    acts = ("tanh", "relu", "sigmoid", "identity")
    assert offered == [acts, ("from1",), acts, ("from1", "from2"), acts,
                       ("from1", "from2", "from3"), acts]  # fmt: skip
    assert s.actions(state) == ()
    with pytest.raises(ValueError, match="not legal"):
        s.step(s.initial_state(), s.FROM)


def test_cells_of_other_spaces_are_not_contained():
    s = space(3, activations=["tanh", "relu"])
    assert len(s.architectures()) == 2**3 * 2
    assert not s.contains(parse("[CELL(8,16), SIGM(0), RELU(1), TANH(1), LM(20)]"))
    assert not s.contains(parse("[CELL(8,16), TANH(0), RELU(1), LM(20)]"))  # 2 nodes
    assert not s.contains(parse("[CELL(8,32), TANH(0), RELU(1), TANH(1), LM(20)]"))
    assert not s.contains(parse("[LSTM(8,16), LM(20)]"))
    assert s.contains(parse("[CELL(8,16), TANH(0), RELU(1), TANH(1), LM(20)]"))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"num_nodes": 0}, "num_nodes must be a positive integer"),
        ({"hidden_size": 2.5}, "hidden_size must be a positive integer"),
        ({"activations": ["tanh", "gelu"]}, "unknown activation 'gelu'"),
        ({"activations": []}, "non-empty list"),
        ({"nodes": 3}, r"unknown \[space\] setting\(s\) nodes; known: activations"),
    ],
)
def test_bad_settings_say_what_is_wrong(values, message):
    with pytest.raises(ValueError, match=message):
        apply_settings(RnnCellConfig, None, values, name="space")


def test_defaults_and_config():
    s = RnnCellSpace(vocab_size=50)
    assert s.config() == {
        "name": "rnn-cell", "family": "rnn", "vocab_size": 50, "num_nodes": 8,
        "embedding_size": 64, "hidden_size": 64,
        "activations": ("tanh", "relu", "sigmoid", "identity"),
    }  # fmt: skip
    assert s.modality == "text"


def late_reward(strategy, seed, proposals=300):
    """The mean fake reward of a strategy's last 100 of ``proposals`` on a 5-node space."""
    s = space(5)
    fake = FakeEvaluator(s, seed=seed, target_length=7)  # a hidden target cell
    hyper = {"learning_rate": 0.03} if strategy == "reinforce" else {}
    agent = make_strategy(strategy, s, budget=proposals, seed=seed, **hyper)
    rewards = []
    for _ in range(proposals):
        proposal = agent.propose()
        result = fake.evaluate(proposal.architecture, seed=0)
        agent.observe(Feedback(proposal, result.val_acc, result, True))
        rewards.append(result.val_acc)
    return float(np.mean(rewards[-100:]))


def test_the_reinforce_controller_learns_on_the_space_unchanged():
    for seed in range(3):
        ours, rand = late_reward("reinforce", seed), late_reward("random", seed)
        assert ours > rand + 0.05, (seed, ours, rand)  # ~0.86 against ~0.76
