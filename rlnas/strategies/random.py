"""Random search: uniform over the legal actions at every step. The baseline to beat."""

from __future__ import annotations

from typing import Any

import numpy as np

from rlnas.spaces.base import SearchSpace
from rlnas.strategies.base import Feedback, Proposal, Strategy

__all__ = ["RandomSearch"]


class RandomSearch(Strategy):
    name = "random"

    def __init__(self, space: SearchSpace[Any], *, budget: int, seed: int) -> None:
        super().__init__(space, budget=budget, seed=seed)
        self.rng = np.random.default_rng(seed)

    def propose(self) -> Proposal:
        arch, actions = self.space.sample(self.rng)
        return Proposal(arch, actions)

    def observe(self, feedback: Feedback) -> None:
        pass  # random search learns nothing

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
