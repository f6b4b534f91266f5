"""Rewards: pure functions of an :class:`EvalResult` (raw metrics are always stored)."""

from __future__ import annotations

from collections.abc import Callable

from rlnas.evaluation.result import EvalResult

__all__ = ["REWARDS", "Reward", "accuracy", "make_reward"]

#: A reward maps raw measurements to the number the strategy maximises.
Reward = Callable[[EvalResult], float]


def accuracy(result: EvalResult) -> float:
    """MetaQNN's reward: the best validation accuracy; chance level for a failed trial.

    >>> from rlnas.evaluation.result import TrialStatus
    >>> accuracy(EvalResult(TrialStatus.FAILED, val_acc=0.93, num_classes=10))
    0.1
    """
    return result.val_acc if result.ok else 1.0 / result.num_classes


REWARDS: dict[str, Reward] = {"accuracy": accuracy}


def make_reward(name: str) -> Reward:
    """The reward registered as ``name``; ``ValueError`` naming the choices otherwise."""
    try:
        return REWARDS[name]
    except KeyError:
        raise ValueError(f"unknown reward {name!r}; choose one of {', '.join(REWARDS)}") from None
