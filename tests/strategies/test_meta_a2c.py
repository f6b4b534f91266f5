"""Meta-A2C: the raw reward it acts on is the one it trains on, memory across episodes,
exact resume, policy files, and transfer from meta-training on related tasks."""

import pickle

import numpy as np
import pytest
import torch

from rlnas.arch import parse
from rlnas.search.meta import MetaTask, meta_train
from rlnas.spaces import make_space
from rlnas.strategies import Feedback, MetaA2C, make_strategy
from rlnas.strategies.meta_a2c import save_policy
from rlnas.testing import FakeEvaluator

SPACE = make_space("blockqnn-chain", input_shape=(1, 8, 8), num_classes=10)
SHORT = {
    "c1": "BC(32,1,1)", "c3": "BC(32,3,1)", "c5": "BC(32,5,1)", "m2": "BMP(2,1)",
    "m3": "BMP(3,1)", "a2": "BAP(2,1)", "a3": "BAP(3,1)",
}  # fmt: skip


def target(text):
    return parse("[" + ", ".join(SHORT[x] for x in text.split()) + ", BHEAD(1024,10)]")


@pytest.fixture(autouse=True)
def one_thread():
    """A 128-unit LSTM is fastest on one thread (and does not fight other processes)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def play(agent, evaluator, episodes):
    rewards = []
    for _ in range(episodes):
        proposal = agent.propose()
        result = evaluator.evaluate(proposal.architecture, 0)
        agent.observe(Feedback(proposal, result.val_acc, result, True))
        rewards.append(result.val_acc)
    return rewards


def test_acts_and_trains_on_the_same_raw_previous_reward_and_carries_memory():
    fake = FakeEvaluator(SPACE, seed=1)
    agent = MetaA2C(SPACE, budget=10, seed=0)
    fed = []  # every (inputs, hidden) the LSTM cell sees, acting and training alike
    original = agent.model.lstm.forward

    def spy(x, hidden=None):
        fed.append((x.detach().clone(), hidden[0].detach().clone()))
        return original(x, hidden)

    agent.model.lstm.forward = spy
    reward_column = agent.model.obs_size + agent.model.num_actions
    acted, rewards = [], []
    for _ in range(6):
        fed.clear()
        proposal = agent.propose()
        acted += [x for x, _ in fed]
        first, first_hidden = fed[0]
        assert first[0, reward_column] == pytest.approx(rewards[-1] if rewards else 0.0)
        assert bool(first_hidden.abs().sum() > 0) == bool(rewards)  # memory carried over
        fed.clear()
        result = fake.evaluate(proposal.architecture, 0)
        agent.observe(Feedback(proposal, result.val_acc, result, True))
        rewards.append(result.val_acc)
        trained = [x for x, _ in fed]
        # every row an update replays is a row that was fed when acting, bit for bit
        assert all(any(torch.equal(t, a) for a in acted) for t in trained)
    assert agent.updates >= 3 and len(set(rewards)) > 1
    agent.reset_memory()  # a new data set
    assert not agent.hidden[0].any() and agent.prev_action is None and agent.prev_reward == 0.0


def test_same_seed_same_run_and_resume_from_a_pickled_state_is_exact():
    fake = FakeEvaluator(SPACE, seed=2)
    whole = MetaA2C(SPACE, budget=40, seed=7)
    first = play(whole, fake, 40)
    again = MetaA2C(SPACE, budget=40, seed=7)
    assert play(again, fake, 40) == first
    part = MetaA2C(SPACE, budget=40, seed=7)
    head = play(part, fake, 17)
    state = pickle.loads(pickle.dumps(part.state_dict()))
    resumed = MetaA2C(SPACE, budget=40, seed=7)
    resumed.load_state_dict(state)
    assert head + play(resumed, fake, 23) == first
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name


def test_policy_file_round_trip_frozen_and_mismatched_spaces(tmp_path):
    fake = FakeEvaluator(SPACE, seed=3)
    agent = MetaA2C(SPACE, budget=30, seed=1)
    play(agent, fake, 30)
    path = tmp_path / "policy.pt"
    save_policy(agent, path, tasks=["fake"])
    other_classes = make_space("blockqnn-chain", input_shape=(3, 16, 16), num_classes=4)
    loaded = make_strategy("meta-a2c", other_classes, budget=5, seed=9, policy=str(path))
    for name, value in agent.model.state_dict().items():
        assert torch.equal(value, loaded.model.state_dict()[name]), name
    assert loaded.policy_info == {"tasks": ["fake"]}
    frozen = MetaA2C(SPACE, budget=5, seed=9, policy=str(path), frozen=True)
    before = {k: v.clone() for k, v in frozen.model.state_dict().items()}
    play(frozen, fake, 12)
    assert all(torch.equal(v, frozen.model.state_dict()[k]) for k, v in before.items())
    assert frozen.updates == 0 and frozen.buffer == []
    with pytest.raises(ValueError, match="trained on the blockqnn-chain space"):
        MetaA2C(make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10), budget=1,
                seed=0, policy=str(path))  # fmt: skip
    with pytest.raises(ValueError, match="does not exist"):
        MetaA2C(SPACE, budget=1, seed=0, policy=str(tmp_path / "missing.pt"))
    (tmp_path / "junk.pt").write_bytes(b"not a policy")
    with pytest.raises(ValueError, match="not a policy file"):
        MetaA2C(SPACE, budget=1, seed=0, policy=str(tmp_path / "junk.pt"))


@pytest.mark.slow
def test_learns_the_fake_optimum_better_than_random():
    """The shared test (tests/strategies/test_learning.py) checks the MetaQNN space; this
    one the BlockQNN chain: top-10 and best of 150 episodes, over 4 targets and seeds."""
    targets = ("c3 c5 m2 c3 a2", "c5 m3 c1", "a2 c3 c3 c3 m2 c1", "c1 c5 c5 a3")
    ours, rand = [], []
    for seed, text in enumerate(targets):
        fake = FakeEvaluator(SPACE, target=target(text))
        agent = MetaA2C(SPACE, budget=150, seed=seed)
        found = {}
        for _ in range(150):
            proposal = agent.propose()
            result = fake.evaluate(proposal.architecture, 0)
            agent.observe(Feedback(proposal, result.val_acc, result, True))
            found[str(proposal.architecture)] = result.val_acc
        ours.append(sorted(found.values(), reverse=True)[:10])
        rng = np.random.default_rng(seed)
        sampled = {str(a): fake.score(a) for a in (SPACE.sample(rng)[0] for _ in range(150))}
        rand.append(sorted(sampled.values(), reverse=True)[:10])
    ours, rand = np.array(ours), np.array(rand)
    assert ours[:, 0].mean() > rand[:, 0].mean(), (ours[:, 0], rand[:, 0])
    assert ours.mean() > rand.mean() + 0.02, (ours.mean(1), rand.mean(1))  # as test_learning


@pytest.mark.slow
def test_meta_trained_policy_beats_a_fresh_one_on_a_related_task(tmp_path):
    related = [FakeEvaluator(SPACE, target=target(t)) for t in ("c3 c3 m2 c5 c5", "c3 c3 m2 c5 c3")]
    held_out = FakeEvaluator(SPACE, target=target("c3 c3 m2 c3 c5"))
    transferred, frozen, fresh = [], [], []
    for seed in range(3):
        path = tmp_path / f"policy{seed}.pt"
        tasks = [MetaTask(f"task{i}", fake) for i, fake in enumerate(related)]
        meta_train(tasks, space="blockqnn-chain", steps=2500, seed=seed, switch_every=25, out=path)
        first = dict(budget=10, seed=100 + seed)
        transferred.append(max(play(MetaA2C(SPACE, policy=str(path), **first), held_out, 10)))
        frozen.append(
            max(play(MetaA2C(SPACE, policy=str(path), frozen=True, **first), held_out, 10))
        )
        fresh.append(max(play(MetaA2C(SPACE, **first), held_out, 10)))
    # best reward within the first 10 episodes on the held-out task, averaged over seeds
    assert np.mean(transferred) > np.mean(fresh) + 0.05, (transferred, fresh)
    assert np.mean(frozen) > np.mean(fresh) + 0.05, (frozen, fresh)
