"""Regularized (aging) evolution, Real et al. 2019, on any search space.

Fill a population of ``population_size`` with random architectures; then, for each new
proposal, sample ``sample_size`` members, take the best of the sample, and mutate it by
changing one layer; every observed child joins the population and the oldest member leaves.
The strongest simple baseline on NAS-Bench-101 and -201.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from rlnas.spaces.base import SearchSpace
from rlnas.strategies.base import Feedback, Proposal, Strategy

__all__ = ["RegularizedEvolution"]


class RegularizedEvolution(Strategy):
    name = "evolution"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        budget: int,
        seed: int,
        population_size: int = 20,
        sample_size: int = 5,
    ) -> None:
        super().__init__(space, budget=budget, seed=seed)
        if population_size < 1 or not 1 <= sample_size <= population_size:
            raise ValueError("need population_size >= 1 and 1 <= sample_size <= population_size")
        self.population_size, self.sample_size = population_size, sample_size
        self.rng = np.random.default_rng(seed)
        self.population: deque[tuple[tuple[int, ...], float]] = deque()
        self.observed = 0

    def propose(self) -> Proposal:
        if self.observed < self.population_size:
            arch, actions = self.space.sample(self.rng)
            return Proposal(arch, actions, {"mutated": 0.0})
        picks = self.rng.choice(len(self.population), size=self.sample_size, replace=False)
        parent = max((self.population[int(i)] for i in picks), key=lambda member: member[1])
        actions = self.mutate(parent[0])
        state = self.space.rollout(actions)
        return Proposal(self.space.architecture(state), actions, {"mutated": 1.0})

    def mutate(self, actions: tuple[int, ...]) -> tuple[int, ...]:
        """Change the layer at one random position to another legal one; keep the layers
        after it where they stay legal, and complete the path at random where they do not."""
        space = self.space
        states = [space.initial_state()]
        for action in actions:
            states.append(space.step(states[-1], action))
        positions = [i for i in range(len(actions)) if len(space.actions(states[i])) > 1]
        if not positions:
            return actions
        i = positions[int(self.rng.integers(len(positions)))]
        choices = [a for a in space.actions(states[i]) if a != actions[i]]
        new = [*actions[:i], choices[int(self.rng.integers(len(choices)))]]
        state = space.step(states[i], new[-1])
        rest = list(actions[i + 1 :])
        while not space.is_terminal(state):
            legal = space.actions(state)
            if rest and rest[0] in legal:
                action = rest.pop(0)
            else:
                rest = []
                action = legal[int(self.rng.integers(len(legal)))]
            new.append(action)
            state = space.step(state, action)
        return tuple(new)

    def observe(self, feedback: Feedback) -> None:
        self.observed += 1
        self.population.append((feedback.proposal.actions, float(feedback.reward)))
        if len(self.population) > self.population_size:
            self.population.popleft()  # aging: the oldest dies, however good

    def state_dict(self) -> dict[str, Any]:
        return {
            "population": list(self.population),
            "observed": self.observed,
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.population = deque((tuple(a), float(r)) for a, r in state["population"])
        self.observed = int(state["observed"])
        self.rng.bit_generator.state = state["rng"]
