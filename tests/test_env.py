"""The Gymnasium environment: checker, the MDP step by step, the cache, SB3 agents."""

import warnings

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import rlnas
from rlnas.env import ENV_ID, NasEnv
from rlnas.spaces import make_space
from rlnas.testing import FakeEvaluator


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class CountingFake(FakeEvaluator):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0

    def evaluate(self, arch, seed, *, prune=None):
        self.calls += 1
        return super().evaluate(arch, seed, prune=prune)


@pytest.mark.parametrize("space", ["metaqnn", "blockqnn", "blockqnn-chain"])
def test_env_checker_passes_without_warnings(space):
    env = gymnasium.make(ENV_ID, space=space, evaluator="fake")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    assert rlnas.__version__  # registered by importing rlnas


def test_one_episode_is_the_mdp_and_the_cache_prevents_retraining():
    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    fake = CountingFake(space, seed=3)
    env = NasEnv(space, fake)
    target = space.trajectory(fake.target)
    for episode in range(2):
        obs, info = env.reset(seed=episode)
        state = space.initial_state()
        for t, action in enumerate(target):
            np.testing.assert_array_equal(obs, space.encode(state))
            np.testing.assert_array_equal(info["action_mask"], space.action_mask(state))
            np.testing.assert_array_equal(env.action_masks(), space.action_mask(state))
            obs, reward, terminated, truncated, info = env.step(np.int64(action))
            state = space.step(state, action)
            last = t == len(target) - 1
            assert terminated == last and not truncated
            assert reward == (1.0 if last else 0.0)  # reward only at the end: the target's 1.0
        assert info["architecture"] == str(fake.target) and info["cached"] == (episode == 1)
        assert not info["action_mask"].any()
    assert fake.calls == 1  # the second episode was answered from the cache
    assert [r.cached for r in env.history] == [False, True]


def test_illegal_actions_cost_a_little_change_nothing_and_truncate():
    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    env = NasEnv(space, "fake", max_steps=12)
    obs, info = env.reset()
    illegal = int(np.flatnonzero(info["action_mask"] == 0)[0])  # e.g. an FC before any conv
    for step in range(1, 13):
        after, reward, terminated, truncated, info = env.step(illegal)
        np.testing.assert_array_equal(after, obs)
        assert reward == -0.1 and info["illegal"] and not terminated
        assert truncated == (step == 12)
    assert env.history == []  # nothing was trained
    with pytest.raises(ValueError, match="horizon"):
        NasEnv(space, "fake", max_steps=2)
    env.reset()
    assert env.step(len(space.vocabulary) + 5)[-1]["illegal"]  # out of range is illegal too


def test_make_with_a_real_data_set_trains_the_network():
    env = gymnasium.make(
        ENV_ID, space="metaqnn", dataset="digits", epochs=1, device="cpu", threads=1
    )
    env.reset(seed=0)
    space = env.unwrapped.space
    softmax = next(i for i, layer in enumerate(space.vocabulary) if layer.token == "SM")
    conv = next(i for i, layer in enumerate(space.vocabulary) if layer.token == "C")
    env.step(conv)
    _, reward, terminated, _, info = env.step(softmax)
    assert terminated and info["result"].ok and info["result"].epochs == 1
    assert 0.1 < reward <= 1.0 and reward == info["result"].val_acc
    with pytest.raises(ValueError, match="unknown setting"):
        NasEnv("metaqnn", "train", epoch=1)
    with pytest.raises(ValueError, match="evaluator must be"):
        NasEnv("metaqnn", "oracle")


@pytest.mark.parametrize("algorithm", ["PPO", "DQN", "MaskablePPO"])
def test_stable_baselines3_agents_train_on_the_env(algorithm):
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import DQN, PPO

    cls = {"PPO": PPO, "DQN": DQN, "MaskablePPO": MaskablePPO}[algorithm]
    env = gymnasium.make(ENV_ID, space="metaqnn", evaluator="fake")
    settings = {"learning_starts": 50} if cls is DQN else {"n_steps": 64, "batch_size": 32}
    model = cls("MlpPolicy", env, seed=0, **settings)
    illegal = []
    model.learn(300, callback=_Recorder(illegal))
    assert model.num_timesteps >= 300
    history = env.unwrapped.history
    assert len(history) >= 10 and all(0.6 <= r.reward <= 1.0 for r in history)
    if cls is MaskablePPO:
        assert not any(illegal)  # masks keep it to legal actions
    else:
        assert sum(illegal) < len(illegal)


def _Recorder(illegal):
    from stable_baselines3.common.callbacks import BaseCallback

    class Recorder(BaseCallback):
        def _on_step(self):
            illegal.extend(bool(i.get("illegal")) for i in self.locals["infos"])
            return True

    return Recorder()
