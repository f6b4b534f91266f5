"""Local search: best-improvement hill climbing over the space's one-edit neighbourhood,
restarting at a local optimum (White, Nolen, Zela and Hutter 2021, "Local search is state
of the art for NAS benchmarks": the strongest simple baseline at small budgets).

Start from a random architecture (the best of ``initial_samples`` random ones). Evaluate
its neighbourhood (:meth:`~rlnas.spaces.base.SearchSpace.neighbours`; a random subset of
at most ``num_neighbours`` when set); then move to the best neighbour if it beats the
centre, else the centre is a local optimum and the search restarts from a random
architecture. Rewards already known (a neighbour seen before) are used without proposing
it again. While the proposals of a neighbourhood are out and more are asked for (parallel
workers), random architectures are proposed; they seed the next restart.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlnas.spaces.base import SearchSpace
from rlnas.strategies.base import Feedback, Proposal, Strategy

__all__ = ["LocalSearch"]

Path = tuple[int, ...]


class LocalSearch(Strategy):
    name = "local"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        budget: int,
        seed: int,
        initial_samples: int = 1,
        num_neighbours: int | None = None,
    ) -> None:
        super().__init__(space, budget=budget, seed=seed)
        if initial_samples < 1 or (num_neighbours is not None and num_neighbours < 1):
            raise ValueError("need initial_samples >= 1 and num_neighbours >= 1 (or None)")
        self.initial_samples, self.num_neighbours = initial_samples, num_neighbours
        self.rng = np.random.default_rng(seed)
        self.known: dict[Path, float] = {}  # rewards of every path observed
        self.center: Path | None = None
        self.queue: list[Path] = []  # neighbours of the centre still to propose
        self.waiting: set[Path] = set()  # neighbours proposed, not yet observed
        self.starts: list[Path] = []  # random paths proposed to (re)start from
        self.restarts = 0

    def propose(self) -> Proposal:
        if self.center is None:
            self._try_start()
        if self.queue:
            path = self.queue.pop(0)
            self.waiting.add(path)
            return self._proposal(path, neighbour=1.0)
        _, path = self.space.sample(self.rng)
        self.starts.append(path)  # a restart point, or one for later while neighbours are out
        return self._proposal(path, neighbour=0.0)

    def _proposal(self, path: Path, *, neighbour: float) -> Proposal:
        arch = self.space.architecture(self.space.rollout(path))
        info = {"neighbour": neighbour, "restarts": float(self.restarts)}
        return Proposal(arch, path, info)

    def _try_start(self) -> None:
        """Climb from the best random start once ``initial_samples`` of them are known."""
        known = [p for p in self.starts if p in self.known]
        if len(known) >= self.initial_samples:
            self._move(max(known, key=lambda p: self.known[p]))

    def observe(self, feedback: Feedback) -> None:
        path = tuple(feedback.proposal.actions)
        self.known[path] = float(feedback.reward)
        self.waiting.discard(path)
        if self.center is None:
            self._try_start()
        elif not self.queue and not self.waiting:
            self._step()

    def _step(self) -> None:
        """The neighbourhood is evaluated: climb to its best, or restart at an optimum."""
        assert self.center is not None
        neighbours = self._neighbourhood(self.center)
        best = max(neighbours, key=lambda p: self.known.get(p, -np.inf), default=None)
        if best is not None and self.known.get(best, -np.inf) > self.known[self.center]:
            self._move(best)
        else:  # a local optimum: restart from random architectures
            self.center, self.starts = None, []
            self.restarts += 1

    def _move(self, center: Path) -> None:
        self.center, self.starts = center, []
        self.queue = [p for p in self._neighbourhood(center) if p not in self.known]
        if not self.queue:
            self._step()

    def _neighbourhood(self, center: Path) -> list[Path]:
        """The neighbours of ``center`` this search evaluates: all of them, or a subset
        drawn once per centre (seeded by the centre, so it is the same every time)."""
        neighbours = self.space.neighbours(center)
        if self.num_neighbours is None or len(neighbours) <= self.num_neighbours:
            return neighbours
        rng = np.random.default_rng([self.seed, *center])
        picks = rng.choice(len(neighbours), size=self.num_neighbours, replace=False)
        return [neighbours[int(i)] for i in sorted(picks)]

    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": self.rng.bit_generator.state,
            "known": list(self.known.items()),
            "center": self.center,
            "queue": list(self.queue),
            "waiting": sorted(self.waiting),
            "starts": list(self.starts),
            "restarts": self.restarts,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.known = {tuple(p): float(r) for p, r in state["known"]}
        self.center = None if state["center"] is None else tuple(state["center"])
        self.queue = [tuple(p) for p in state["queue"]]
        self.waiting = {tuple(p) for p in state["waiting"]}
        self.starts = [tuple(p) for p in state["starts"]]
        self.restarts = int(state["restarts"])
