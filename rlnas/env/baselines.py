"""Baselines that drive :class:`rlnas.env.NasEnv` themselves: seed 001's DQN.

Stable-Baselines3's DQN with the seed's settings where it gives them: learning rate 5e-4,
epsilon decaying linearly from 1 to 0.1, a replay buffer half the expected run, batches of
20. It sees no action masks (illegal actions cost ``env.illegal_reward`` and change
nothing). Needs the ``sb3`` extra: ``pip install 'rlnas[sb3]'``.
"""

from __future__ import annotations

from typing import Any

from rlnas.env.environment import EpisodeRecord, NasEnv

__all__ = ["dqn_search"]


def dqn_search(env: NasEnv, *, episodes: int, seed: int = 0, **hyper: Any) -> list[EpisodeRecord]:
    """Run DQN on ``env`` until it has designed ``episodes`` more networks (or taken
    ``4 * max_steps * episodes`` steps); return those episodes in order.

    ``hyper`` overrides the DQN settings (any ``stable_baselines3.DQN`` argument).
    Raises :class:`ImportError` with the install command when SB3 is missing.
    """
    try:
        from stable_baselines3 import DQN
        from stable_baselines3.common.callbacks import BaseCallback
    except ImportError:
        raise ImportError(
            "the DQN baseline needs Stable-Baselines3: pip install 'rlnas[sb3]'"
        ) from None
    if episodes < 1:
        raise ValueError("episodes must be at least 1")
    start = len(env.history)
    expected = episodes * env.space.horizon  # steps of the run if no action were illegal

    class StopAfterEpisodes(BaseCallback):
        def _on_step(self) -> bool:
            return len(env.history) - start < episodes

    settings: dict[str, Any] = {
        "learning_rate": 5e-4,
        "buffer_size": max(expected // 2, 100),  # the seed's t_max / 2
        "batch_size": 20,
        "learning_starts": 2 * env.space.horizon,
        "exploration_initial_eps": 1.0,
        "exploration_final_eps": 0.1,
        "exploration_fraction": 0.25,  # of the step cap below: decays over ~`expected` steps
        "target_update_interval": 50,
        "gamma": 0.99,
        "seed": seed,
        "device": "cpu",
        "verbose": 0,
    }
    settings.update(hyper)
    model = DQN("MlpPolicy", env, **settings)
    model.learn(4 * expected, callback=StopAfterEpisodes())
    return env.history[start : start + episodes]
