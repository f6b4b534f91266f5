"""The DQN baseline runs on the environment, episode-counted and seeded."""

import torch

from rlnas.env import NasEnv
from rlnas.env.baselines import dqn_search


def test_dqn_designs_the_asked_number_of_networks_reproducibly():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runs = []
        for _ in range(2):
            env = NasEnv("blockqnn-chain", "fake", seed=4)
            records = dqn_search(env, episodes=30, seed=1)
            runs.append([(r.architecture, r.reward) for r in records])
        assert len(runs[0]) == 30 and runs[0] == runs[1]
        assert all(0.6 <= reward <= 1.0 for _, reward in runs[0])
        assert len({arch for arch, _ in runs[0]}) > 5  # epsilon starts at 1: it explores
    finally:
        torch.set_num_threads(threads)
