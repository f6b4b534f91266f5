"""The Gymnasium environment over any search space (:class:`NasEnv`, registered as
``rlnas/NasEnv-v0`` by ``import rlnas``) and baselines that drive it
(:mod:`rlnas.env.baselines`: SB3's DQN, the ``sb3`` extra)."""

from rlnas.env.environment import ENV_ID, EpisodeRecord, NasEnv

__all__ = ["ENV_ID", "EpisodeRecord", "NasEnv"]
