"""NAS-RL (Zoph & Le 2017): an LSTM controller trained with REINFORCE, on any space.

The controller (:class:`~rlnas.strategies.controller.Controller`, 2 layers of 35 units)
samples ``batch_size`` (the paper's m) architectures at once from its current policy;
the loop trains them (or replays cached results) and, once all m rewards are observed,
one REINFORCE step with a moving-average baseline and an entropy bonus updates it
(Adam, learning rate 6e-4 as in the paper).

Zoph & Le's learning rate is tuned for thousands of trained children (12,800 on
CIFAR-10); with a budget of a few hundred the policy barely moves, so raise
``learning_rate`` (e.g. 0.01 to 0.05) for small budgets.
"""

from __future__ import annotations

from typing import Any

import torch

from rlnas.spaces.base import SearchSpace
from rlnas.strategies.base import Feedback, Proposal, Strategy
from rlnas.strategies.controller import Controller, PolicyGradient

__all__ = ["Reinforce"]


class Reinforce(Strategy):
    """REINFORCE on any space: ``batch_size`` (m) architectures per update.

    ``learning_rate``, ``ent_coef``, ``baseline_decay``, ``max_grad_norm`` and
    ``skip_weight`` go to :class:`~rlnas.strategies.controller.PolicyGradient`;
    ``hidden_size``, ``num_layers``, ``feed_state`` (also feed ``space.encode(state)``),
    ``tanh_constant``, ``temperature`` and ``skip_target`` to
    :class:`~rlnas.strategies.controller.Controller`.
    """

    name = "reinforce"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        budget: int,
        seed: int,
        learning_rate: float = 6e-4,
        batch_size: int = 8,
        ent_coef: float = 1e-4,
        baseline_decay: float = 0.95,
        max_grad_norm: float | None = None,
        hidden_size: int = 35,
        num_layers: int = 2,
        feed_state: bool = False,
        tanh_constant: float | None = None,
        temperature: float | None = None,
        skip_target: float = 0.4,
        skip_weight: float = 0.0,
    ) -> None:
        super().__init__(space, budget=budget, seed=seed)
        if batch_size < 1:
            raise ValueError(f"batch_size (m) must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.controller = Controller(
            space, hidden_size=hidden_size, num_layers=num_layers, feed_state=feed_state,
            tanh_constant=tanh_constant, temperature=temperature, skip_target=skip_target,
            seed=seed,
        )  # fmt: skip
        self.learner = PolicyGradient(
            self.controller, learning_rate=learning_rate, ent_coef=ent_coef,
            baseline_decay=baseline_decay, max_grad_norm=max_grad_norm, skip_weight=skip_weight,
        )  # fmt: skip
        # a stream apart from the weights' initialisation, which used `seed` itself
        self.generator = torch.Generator().manual_seed(seed + 0x5EED)
        self.queue: list[tuple[int, ...]] = []  # sampled, not yet proposed
        self.batch: list[tuple[tuple[int, ...], float]] = []  # observed, not yet learnt from
        self.updates = 0
        self.entropy: float | None = None  # of the last update's batch, for the report

    def propose(self) -> Proposal:
        if not self.queue:
            self.queue = self.controller.sample(self.batch_size, self.generator)
        actions = self.queue.pop(0)
        arch = self.space.architecture(self.space.rollout(actions))
        baseline = self.learner.baseline
        info = {"update": float(self.updates)}
        if baseline is not None:
            info["baseline"] = baseline
        if self.entropy is not None:
            info["entropy"] = self.entropy
        return Proposal(arch, actions, info)

    def observe(self, feedback: Feedback) -> None:
        self.batch.append((feedback.proposal.actions, float(feedback.reward)))
        if len(self.batch) >= self.batch_size:
            episodes, rewards = zip(*self.batch, strict=True)
            self.entropy = self.learner.update(episodes, rewards).entropy
            self.batch = []
            self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        return {
            "learner": self.learner.state_dict(),
            "generator": self.generator.get_state().numpy(),
            "queue": list(self.queue),
            "batch": list(self.batch),
            "updates": self.updates,
            "entropy": self.entropy,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.learner.load_state_dict(state["learner"])
        self.generator.set_state(torch.from_numpy(state["generator"].copy()))
        self.queue = [tuple(a) for a in state["queue"]]
        self.batch = [(tuple(a), float(r)) for a, r in state["batch"]]
        self.updates = int(state["updates"])
        self.entropy = state["entropy"]
