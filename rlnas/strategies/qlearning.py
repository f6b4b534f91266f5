"""MetaQNN's tabular Q-learning (Baker et al. 2017).

Q starts at 0.5 everywhere; the reward comes only on the last transition; after each
trial (a trained model, or an architecture met again and answered from the cache) the
agent replays ``replay_size`` trajectories sampled (with replacement) from every past
trial, updating each in reverse order with

    Q(s, a) <- (1 - alpha) Q(s, a) + alpha (r + gamma max_a' Q(s', a'))

(max over a terminal state is 0). Actions are epsilon-greedy with random tie-breaking;
epsilon follows a schedule counted in unique trained models or, in a search with a time
limit, in the share of the time spent, whichever is further on.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from rlnas.spaces.base import SearchSpace
from rlnas.strategies.base import Feedback, Proposal, Strategy

__all__ = ["PAPER_SCHEDULE", "EpsilonSchedule", "QLearning"]

#: The paper's schedule: (epsilon, unique models trained at it).
PAPER_SCHEDULE: tuple[tuple[float, int], ...] = (
    (1.0, 1500),
    (0.9, 100),
    (0.8, 100),
    (0.7, 100),
    (0.6, 150),
    (0.5, 150),
    (0.4, 150),
    (0.3, 150),
    (0.2, 150),
    (0.1, 150),
)


class EpsilonSchedule:
    """Piecewise-constant epsilon over the count of unique trained models.

    >>> s = EpsilonSchedule.scaled(PAPER_SCHEDULE, budget=270)
    >>> s.steps[:3]
    ((1.0, 150), (0.9, 10), (0.8, 10))
    >>> s.epsilon(0), s.epsilon(150), s.epsilon(269), s.epsilon(10_000)
    (1.0, 0.9, 0.1, 0.1)
    """

    def __init__(self, steps: Sequence[tuple[float, int]]) -> None:
        if not steps or any(not 0 <= eps <= 1 or count < 0 for eps, count in steps):
            raise ValueError("epsilon schedule steps must be (epsilon in [0, 1], count >= 0)")
        self.steps = tuple((float(eps), int(count)) for eps, count in steps)

    @classmethod
    def scaled(cls, steps: Sequence[tuple[float, int]], budget: int) -> EpsilonSchedule:
        """``steps`` with counts scaled to sum to ``budget`` (largest-remainder rounding)."""
        total = sum(count for _, count in steps)
        exact = [count * budget / total for _, count in steps]
        counts = [int(x) for x in exact]
        by_remainder = sorted(range(len(steps)), key=lambda i: (counts[i] - exact[i], i))
        for i in by_remainder[: budget - sum(counts)]:
            counts[i] += 1
        return cls([(eps, n) for (eps, _), n in zip(steps, counts, strict=True)])

    def epsilon(self, trained: int) -> float:
        """Epsilon once ``trained`` unique models have been trained."""
        for eps, count in self.steps:
            if trained < count:
                return eps
            trained -= count
        return self.steps[-1][0]


#: The paper's learning rate, and how many models its schedule trains.
PAPER_ALPHA = 0.01
PAPER_MODELS = sum(count for _, count in PAPER_SCHEDULE)
#: The largest learning rate the budget scaling gives.
MAX_ALPHA = 0.1


def scaled_alpha(budget: int) -> float:
    """The paper's alpha scaled to a budget, as its epsilon schedule is.

    With Q starting at 0.5 and rewards (accuracies) far above it, a pair updated n times
    with alpha holds about ``0.5 + (r - 0.5) (1 - (1 - alpha) ** n)``: while ``alpha * n``
    is small, Q ranks actions by how often they were tried, not by their rewards. The
    paper's 0.01 suits its 2,700 models; keeping ``alpha * budget`` at the paper's value
    (capped at 0.1) lets a smaller budget's Q-values reach the rewards too.

    >>> scaled_alpha(2700), scaled_alpha(540), scaled_alpha(100)
    (0.01, 0.05, 0.1)
    """
    return round(min(MAX_ALPHA, PAPER_ALPHA * PAPER_MODELS / max(budget, 1)), 6)


class QLearning(Strategy):
    """MetaQNN's Q-learning. ``alpha=None`` (the default) is :func:`scaled_alpha` of the
    budget (the paper's 0.01 at the paper's 2,700 models); pass ``alpha = 0.01`` for the
    paper's constant. ``schedule``: (epsilon, models) steps, the paper's by default; its
    counts are scaled to the budget, so they give proportions (a schedule that sums to the
    budget is used as it is). ``schedule_models``: scale schedule and alpha to this many
    models instead of the budget; past them the search goes on at the last epsilon.

    Under a time limit (the loop passes :attr:`Feedback.time_share`) the schedule's clock
    is the larger of the models trained and the time's share of ``models``: a search the
    time limit ends goes down the whole schedule as the time runs out, whatever the budget;
    and a default ``alpha`` is scaled to the models the time allows at the pace so far
    (``trained / time_share``), when those are fewer than ``models``. The clock never goes
    back: a search resumed with a longer time limit goes on where its epsilon was."""

    name = "qlearning"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        budget: int,
        seed: int,
        alpha: float | None = None,
        gamma: float = 1.0,
        q_init: float = 0.5,
        replay_size: int = 100,
        schedule: Sequence[tuple[float, int]] | None = None,
        schedule_models: int | None = None,
    ) -> None:
        super().__init__(space, budget=budget, seed=seed)
        if schedule_models is not None and schedule_models < 1:
            raise ValueError(f"schedule_models must be at least 1, got {schedule_models}")
        #: the models the schedule and a default alpha are scaled to
        self.models = schedule_models or budget
        self.given_alpha = alpha
        self.gamma, self.q_init, self.replay_size = gamma, q_init, replay_size
        self.schedule = EpsilonSchedule.scaled(schedule or PAPER_SCHEDULE, self.models)
        self.rng = np.random.default_rng(seed)
        self.q: dict[tuple[Hashable, int], float] = {}
        # The replay memory, one entry per observed trial: an index into ``paths`` (each
        # distinct action path once) and its reward. Flat arrays, so that a checkpoint
        # after every trial copies bytes instead of pickling a growing list of tuples.
        self.paths: list[tuple[int, ...]] = []
        self.memory_paths = array("q")
        self.memory_rewards = array("d")
        self.trained = 0  # unique models trained: the schedule's clock
        self.time_share = 0.0  # of the time limit, at the last observation
        self.alpha = self._alpha()
        self._path_index: dict[tuple[int, ...], int] = {}
        # derived, per path: its (state key, action) pairs, and each next state's legal ones
        # (those tuples interned in ``_shared``: paths through one state share them)
        self._steps: dict[tuple[int, ...], tuple[list[Any], list[tuple[Any, ...]]]] = {}
        self._shared: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    @property
    def epsilon(self) -> float:
        return self.schedule.epsilon(max(self.trained, int(self.time_share * self.models)))

    def _alpha(self) -> float:
        """The given alpha, or :func:`scaled_alpha` of the models (of those the time limit
        allows at the pace so far, when fewer)."""
        if self.given_alpha is not None:
            return self.given_alpha
        models = self.models
        if self.time_share > 0 and self.trained > 0:
            models = min(models, round(self.trained / self.time_share))
        return scaled_alpha(models)

    def propose(self) -> Proposal:
        """An epsilon-greedy path. ``info``: the epsilon used and ``q_spread``, the mean over
        the path's states of max - min Q over the legal actions (how decided the table is)."""
        epsilon = self.epsilon
        state = self.space.initial_state()
        actions = []
        spreads = []
        while not self.space.is_terminal(state):
            legal = self.space.actions(state)
            values = self._values(state, legal)
            spreads.append(float(values.max() - values.min()))
            if self.rng.random() < epsilon:
                action = legal[int(self.rng.integers(len(legal)))]
            else:
                best = np.flatnonzero(values == values.max())  # ties broken at random
                action = legal[int(best[int(self.rng.integers(len(best)))])]
            actions.append(action)
            state = self.space.step(state, action)
        info = {"epsilon": epsilon, "q_spread": float(np.mean(spreads)) if spreads else 0.0}
        return Proposal(self.space.architecture(state), tuple(actions), info)

    def _values(self, state: Any, legal: tuple[int, ...]) -> np.ndarray:
        key = self.space.key(state)
        return np.array([self.q.get((key, a), self.q_init) for a in legal])

    @property
    def replay(self) -> list[tuple[tuple[int, ...], float]]:
        """The replay memory as (actions, reward) pairs, oldest first."""
        return [
            (self.paths[i], r) for i, r in zip(self.memory_paths, self.memory_rewards, strict=True)
        ]

    def observe(self, feedback: Feedback) -> None:
        if feedback.new:
            self.trained += 1
        if feedback.time_share is not None:
            self.time_share = max(self.time_share, feedback.time_share)
        self.alpha = self._alpha()
        self._remember(feedback.proposal.actions, float(feedback.reward))
        for i in self.rng.integers(len(self.memory_paths), size=self.replay_size):
            self.update(self.paths[self.memory_paths[i]], self.memory_rewards[i])

    def _remember(self, actions: tuple[int, ...], reward: float) -> None:
        index = self._path_index.get(actions)
        if index is None:
            index = self._path_index[actions] = len(self.paths)
            self.paths.append(actions)
        self.memory_paths.append(index)
        self.memory_rewards.append(reward)

    def update(self, actions: tuple[int, ...], reward: float) -> None:
        """One Q-update along a trajectory, in reverse order (reward on the last step only)."""
        pairs, following = self._transitions(actions)
        q, q_init, alpha, gamma = self.q, self.q_init, self.alpha, self.gamma
        last = len(actions) - 1
        target_next = 0.0  # value of the terminal state
        for t in range(last, -1, -1):
            r = reward if t == last else 0.0
            if t < last:  # max over the next state's legal actions
                target_next = max([q.get(pair, q_init) for pair in following[t]], default=0.0)
            key = pairs[t]
            q[key] = (1 - alpha) * q.get(key, q_init) + alpha * (r + gamma * target_next)

    def max_q(self, state: Any) -> float:
        legal = self.space.actions(state)
        if not legal:
            return 0.0
        key = self.space.key(state)
        return max(self.q.get((key, a), self.q_init) for a in legal)

    def _transitions(self, actions: tuple[int, ...]) -> tuple[list[Any], list[tuple[Any, ...]]]:
        """Along a path: each step's (state key, action), and for each step the
        (key, action) pairs of the state it leads to (the Q-values its target maxes over)."""
        steps = self._steps.get(actions)
        if steps is None:
            states = [self.space.initial_state()]
            for action in actions:
                states.append(self.space.step(states[-1], action))
            keys = [self.space.key(state) for state in states]
            pairs = [self._intern((keys[t], action)) for t, action in enumerate(actions)]
            following = [
                self._intern(tuple(self._intern((keys[t + 1], a)) for a in self.space.actions(s)))
                for t, s in enumerate(states[1:])
            ]
            steps = self._steps[actions] = (pairs, following)
        return steps

    def _intern(self, value: tuple[Any, ...]) -> tuple[Any, ...]:
        """One shared copy of each distinct tuple of the transition cache."""
        return self._shared.setdefault(value, value)

    def state_dict(self) -> dict[str, Any]:
        return {
            "q": list(self.q.items()),
            "paths": list(self.paths),
            "memory_paths": array("q", self.memory_paths),
            "memory_rewards": array("d", self.memory_rewards),
            "trained": self.trained,
            "time_share": self.time_share,
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.q = {(key, int(action)): float(v) for (key, action), v in state["q"]}
        self.paths, self._path_index = [], {}
        self.memory_paths, self.memory_rewards = array("q"), array("d")
        if "replay" in state:  # checkpoints before the flat memory: (actions, reward) pairs
            for actions, reward in state["replay"]:
                self._remember(tuple(int(a) for a in actions), float(reward))
        else:
            self.paths = [tuple(int(a) for a in path) for path in state["paths"]]
            self._path_index = {path: i for i, path in enumerate(self.paths)}
            self.memory_paths = array("q", state["memory_paths"])
            self.memory_rewards = array("d", state["memory_rewards"])
        self.trained = int(state["trained"])
        self.time_share = float(state.get("time_share", 0.0))
        self.alpha = self._alpha()
        self.rng.bit_generator.state = state["rng"]
