"""Meta-training: one meta-A2C policy across several data sets (seed 001's experiment 1).

The policy designs networks on one task (a data set and its evaluator) for
``switch_every`` episodes, then moves to the next task, cycling; its LSTM memory is reset
at every switch (a new data set), its weights carry on. The result is a policy file
(:func:`rlnas.strategies.meta_a2c.save_policy`) that ``rlnas search --strategy meta-a2c
--policy FILE [--frozen]`` deploys on a new data set.

>>> from rlnas.spaces import make_space
>>> from rlnas.evaluation.fake import FakeEvaluator
>>> space = make_space("blockqnn-chain", input_shape=(1, 8, 8), num_classes=10)
>>> tasks = [MetaTask(f"fake{i}", FakeEvaluator(space, seed=i)) for i in range(2)]
>>> run = meta_train(tasks, space="blockqnn-chain", steps=60, switch_every=4)
>>> run.agent.steps >= 60, sorted({e.task for e in run.episodes})
(True, ['fake0', 'fake1'])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rlnas.evaluation.base import Evaluator
from rlnas.evaluation.rewards import Reward, make_reward
from rlnas.results import EvalResult, trial_seed
from rlnas.spaces import SearchSpace, make_space
from rlnas.strategies.base import Feedback
from rlnas.strategies.meta_a2c import MetaA2C, save_policy

__all__ = ["MetaEpisode", "MetaTask", "MetaTraining", "meta_train", "meta_train_datasets"]


@dataclass(frozen=True)
class MetaTask:
    """A data set to meta-train on: a name and the evaluator that trains on it."""

    name: str
    evaluator: Evaluator


@dataclass(frozen=True)
class MetaEpisode:
    """One designed network during meta-training."""

    task: str
    episode: int
    architecture: str
    reward: float
    #: False when the result came from the task's cache.
    new: bool
    steps: int


@dataclass
class _Task:
    """A task during meta-training: its space and the results of the networks it trained."""

    task: MetaTask
    space: SearchSpace[Any]
    cache: dict[str, EvalResult] = field(default_factory=dict)

    def episode(self, agent: MetaA2C, score: Reward, seed: int, index: int) -> MetaEpisode:
        """``agent`` designs one network for this task and learns from its reward (a network
        trained before is not trained again: its result is replayed)."""
        proposal = agent.propose()
        key = str(proposal.architecture)
        result = self.cache.get(key)
        new = result is None
        if result is None:
            result = self.task.evaluator.evaluate(proposal.architecture, trial_seed(seed, key))
            self.cache[key] = result
        value = float(score(result))
        agent.observe(Feedback(proposal, value, result, new))
        return MetaEpisode(self.task.name, index, key, value, new, len(proposal.actions))


@dataclass(frozen=True)
class MetaTraining:
    """What :func:`meta_train` returns: the trained agent and every episode, in order."""

    agent: MetaA2C
    episodes: list[MetaEpisode]


def meta_train(
    tasks: Sequence[MetaTask],
    *,
    space: str = "blockqnn-chain",
    steps: int,
    seed: int = 0,
    switch_every: int = 50,
    space_settings: dict[str, Any] | None = None,
    reward: str = "accuracy",
    out: str | os.PathLike[str] | None = None,
    agent: MetaA2C | None = None,
    on_episode: Callable[[MetaEpisode], None] | None = None,
    **hyper: Any,
) -> MetaTraining:
    """Train one meta-A2C policy for at least ``steps`` actions across ``tasks``.

    Tasks take turns, ``switch_every`` episodes each, in the given order; every switch
    resets the LSTM memory. A network already trained on a task is not trained again (its
    result is replayed). ``hyper`` are :class:`MetaA2C` settings (``gamma``, ``ent_coef``,
    ...); ``agent`` continues an existing one. With ``out``, the policy is saved there
    after every task's turn and at the end. Raises :class:`ValueError` for no tasks, a
    non-positive ``steps`` or ``switch_every``, or tasks whose spaces differ in actions.
    """
    if not tasks or steps < 1 or switch_every < 1:
        raise ValueError("meta-training needs tasks, steps >= 1 and switch_every >= 1")
    score = make_reward(reward)
    states = [_Task(task, _space(task, space, space_settings or {})) for task in tasks]
    if agent is None:
        agent = MetaA2C(states[0].space, budget=steps, seed=seed, **hyper)
    log: list[MetaEpisode] = []
    done_steps, turn = 0, 0
    while done_steps < steps:
        current = states[turn % len(states)]
        agent.set_space(current.space)  # a new data set: memory reset
        for _ in range(switch_every):
            episode = current.episode(agent, score, seed, len(log))
            done_steps += episode.steps
            log.append(episode)
            if on_episode is not None:
                on_episode(episode)
            if done_steps >= steps:
                break
        turn += 1
        if out is not None:
            _save(agent, out, tasks, space, done_steps)
    agent.reset_memory()  # train on the last steps; a deployment starts from fresh memory
    if out is not None:
        _save(agent, out, tasks, space, done_steps)
    return MetaTraining(agent, log)


def _space(task: MetaTask, name: str, settings: dict[str, Any]) -> SearchSpace[Any]:
    shape, classes = task.evaluator.input_shape, task.evaluator.num_classes
    return make_space(name, input_shape=shape, num_classes=classes, overrides=settings)


def _save(
    agent: MetaA2C, out: str | os.PathLike[str], tasks: Sequence[MetaTask], space: str, steps: int
) -> None:
    save_policy(agent, out, tasks=[t.name for t in tasks], space=space, steps=steps)


def meta_train_datasets(
    datasets: Sequence[str],
    *,
    steps: int,
    out: str | os.PathLike[str],
    space: str = "blockqnn-chain",
    epochs: int = 8,
    subset: int | None = None,
    seed: int = 0,
    switch_every: int = 50,
    data_dir: str | None = None,
    device: str = "auto",
    threads: int | None = None,
    space_settings: dict[str, Any] | None = None,
    train_settings: dict[str, Any] | None = None,
    on_episode: Callable[[MetaEpisode], None] | None = None,
) -> MetaTraining:
    """:func:`meta_train` on real data sets (what ``rlnas meta-train`` runs): each name is
    loaded and trained on as ``rlnas search --dataset NAME`` would; the policy goes to
    ``out``. Raises :class:`rlnas.config.ConfigError` for bad settings, and
    :class:`rlnas.data.DatasetError` for a missing data set."""
    from rlnas.config import ConfigError, SearchConfig
    from rlnas.search.components import build_evaluator

    if len(datasets) < 1:
        raise ConfigError("--datasets needs at least one data set, e.g. digits,fashion-mnist")
    tasks = []
    for name in datasets:
        config = SearchConfig(
            dataset=name, epochs=epochs, subset=subset, seed=seed, data_dir=data_dir,
            device=device, threads=threads, train_settings=dict(train_settings or {}),
        )  # fmt: skip
        tasks.append(MetaTask(name, build_evaluator(config)))
    try:
        return meta_train(
            tasks, space=space, steps=steps, seed=seed, switch_every=switch_every,
            space_settings=space_settings, out=out, on_episode=on_episode,
        )  # fmt: skip
    except ValueError as error:
        raise ConfigError(str(error)) from None
