"""ENAS (Pham et al. 2018): every child shares the weights of one super-network.

The weight-sharing phase alternates, for ``num_epochs`` epochs,

(a) training the shared weights for one pass over the training data, each mini-batch
    with a child sampled from the controller, and
(b) training the controller for ``controller_train_steps`` REINFORCE steps, each on
    ``batch_size`` (ENAS's ``controller_num_aggregate``) children scored by their accuracy
    on one validation mini-batch under the shared weights.

Then it samples candidates from the trained controller, ranks them by accuracy on the
same validation batches under the shared weights, and proposes them best first; the
search loop trains each from scratch with the standalone trainer and stores it as an
ordinary trial (``--budget`` of them), and retrains the top-k as for any strategy.

The controller is :class:`~rlnas.strategies.controller.Controller` with ENAS's settings
(one LSTM layer of 64 units, Adam 1e-3, tanh constant 1.5, entropy weight 1e-4, baseline
decay 0.99, skip target 0.4 with weight 0.8); the shared weights' ``child_*`` settings
are ENAS's too. The phase is shorter by default, for CPUs: ENAS ran 310 epochs of 50
controller steps of 20 children (``num_epochs=310, controller_train_steps=50,
batch_size=20``); here 10 epochs of 20 steps of 10.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict
from typing import Any

import torch

from rlnas.arch import Architecture
from rlnas.results import SharedTrainConfig, SharedWeights
from rlnas.spaces.base import SearchSpace
from rlnas.strategies.base import Feedback, OneShotStrategy, PhaseReport, Proposal
from rlnas.strategies.controller import Controller, PolicyGradient

__all__ = ["ENAS"]

Episode = tuple[int, ...]


class ENAS(OneShotStrategy):
    """ENAS on any space whose evaluator provides :class:`SharedWeights`.

    Phase: ``num_epochs``; per epoch ``controller_train_steps`` updates of ``batch_size``
    children (m). Controller: ``learning_rate``, ``ent_coef``, ``baseline_decay``,
    ``max_grad_norm``, ``hidden_size``, ``num_layers``, ``tanh_constant``,
    ``temperature``, ``skip_target`` and ``skip_weight`` as in
    :class:`~rlnas.strategies.controller.PolicyGradient`. Ranking: ``num_candidates``
    samples (more if the budget asks for more), each scored on ``rank_batches``
    validation batches. Shared weights: the ``child_*`` fields of
    :class:`~rlnas.results.SharedTrainConfig`; those left unset take the
    evaluator's defaults for its data (images: ENAS's CNN settings, the dataclass's
    defaults; text: ENAS's recurrent-cell settings).
    """

    name = "enas"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        budget: int,
        seed: int,
        num_epochs: int = 10,
        controller_train_steps: int = 20,
        batch_size: int = 10,
        learning_rate: float = 1e-3,
        ent_coef: float = 1e-4,
        baseline_decay: float = 0.99,
        max_grad_norm: float | None = None,
        hidden_size: int = 64,
        num_layers: int = 1,
        tanh_constant: float | None = 1.5,
        temperature: float | None = None,
        skip_target: float = 0.4,
        skip_weight: float = 0.8,
        num_candidates: int = 100,
        rank_batches: int = 4,
        child_batch_size: int | None = None,
        child_lr_max: float | None = None,
        child_lr_min: float | None = None,
        child_momentum: float | None = None,
        child_l2_reg: float | None = None,
        child_grad_bound: float | None = None,
    ) -> None:
        super().__init__(space, budget=budget, seed=seed)
        if min(num_epochs, controller_train_steps, batch_size, num_candidates, rank_batches) < 1:
            raise ValueError(
                "num_epochs, controller_train_steps, batch_size, num_candidates and "
                "rank_batches must be at least 1"
            )
        self.num_epochs, self.controller_train_steps = num_epochs, controller_train_steps
        self.batch_size, self.num_candidates, self.rank_batches = (
            batch_size, num_candidates, rank_batches,
        )  # fmt: skip
        settings: dict[str, Any] = {
            "child_batch_size": child_batch_size, "child_lr_max": child_lr_max,
            "child_lr_min": child_lr_min, "child_momentum": child_momentum,
            "child_l2_reg": child_l2_reg, "child_grad_bound": child_grad_bound,
        }  # fmt: skip
        given = {k: v for k, v in settings.items() if v is not None}  # the rest: the data's
        self._shared_config = SharedTrainConfig(**given, explicit=frozenset(given))
        self.controller = Controller(
            space, hidden_size=hidden_size, num_layers=num_layers, tanh_constant=tanh_constant,
            temperature=temperature, skip_target=skip_target, seed=seed,
        )  # fmt: skip
        self.learner = PolicyGradient(
            self.controller, learning_rate=learning_rate, ent_coef=ent_coef,
            baseline_decay=baseline_decay, max_grad_norm=max_grad_norm, skip_weight=skip_weight,
        )  # fmt: skip
        self.generator = torch.Generator().manual_seed(seed + 0x5EED)
        self.epoch = 0
        self.history: list[dict[str, float]] = []  # one entry per epoch
        self.evaluated = 0  # children scored under the shared weights
        self.ranked: list[tuple[Episode, float]] | None = None  # None until the ranking
        self.proposed: list[tuple[Episode, float]] = []  # and their accuracy when ranked

    @property
    def shared_config(self) -> SharedTrainConfig:
        return self._shared_config

    def _arch(self, actions: Episode) -> Architecture:
        return self.space.architecture(self.space.rollout(actions))

    def _shared(self) -> SharedWeights:
        if self.shared is None:
            raise RuntimeError("ENAS needs shared weights: attach() them, or use rlnas.search")
        return self.shared

    def phase_step(self) -> PhaseReport | None:
        """One epoch of (a) then (b); after the last epoch, the ranking of candidates."""
        if self.epoch < self.num_epochs:
            return self._epoch()
        if self.ranked is None:
            start = time.perf_counter()
            self.ranked = self._rank()
            best = self.ranked[0][1] if self.ranked else 0.0
            info = {"candidates": float(len(self.ranked)), "best_shared_acc": best}
            info |= {"evaluated": float(self.evaluated), "seconds": time.perf_counter() - start}
            return PhaseReport(self.num_epochs + 1, self.num_epochs + 1, info)
        return None

    def _epoch(self) -> PhaseReport:
        shared, start = self._shared(), time.perf_counter()
        shared.start_epoch(self.epoch, self.num_epochs)
        # (a) shared weights: one child per training mini-batch, the controller fixed
        children = self.controller.sample(shared.steps_per_epoch, self.generator)
        losses = [shared.train_step(self._arch(actions)) for actions in children]
        # (b) controller: REINFORCE on validation accuracy under the shared weights
        rewards: list[float] = []
        for _ in range(self.controller_train_steps):
            episodes = self.controller.sample(self.batch_size, self.generator)
            batch = [shared.score(self._arch(actions)) for actions in episodes]
            stats = self.learner.update(episodes, batch)
            rewards += batch
        self.evaluated += len(rewards)
        self.epoch += 1
        entry = {
            "epoch": float(self.epoch),
            "shared_loss": statistics.fmean(losses),
            "reward": statistics.fmean(rewards),
            "baseline": float(self.learner.baseline or 0.0),
            "entropy": stats.entropy,
            "evaluated": float(self.evaluated),
        }
        self.history.append(entry)
        info = entry | {"seconds": time.perf_counter() - start}
        return PhaseReport(self.epoch, self.num_epochs + 1, info)

    def _rank(self) -> list[tuple[Episode, float]]:
        """Distinct candidates from the controller, best first by accuracy under the
        shared weights on the same validation batches: ``num_candidates`` samples, and up
        to 20 times as many while fewer than the budget are distinct."""
        shared, seen = self._shared(), set[Episode]()
        wanted = max(self.num_candidates, self.budget)
        fresh: list[Episode] = []
        for _ in range(20):
            for actions in self.controller.sample(self.num_candidates, self.generator):
                if actions not in seen:
                    seen.add(actions)
                    fresh.append(actions)
            if len(fresh) >= wanted:
                break
        fresh = fresh[:wanted]
        scored = [(a, shared.validate(self._arch(a), self.rank_batches)) for a in fresh]
        self.evaluated += len(scored)
        return sorted(scored, key=lambda item: -item[1])  # stable: sample order breaks ties

    def propose(self) -> Proposal:
        while self.phase_step() is not None:  # the loop normally ran the phase already
            pass
        assert self.ranked is not None  # phase_step ranks before it returns None
        if self.ranked:
            self.proposed.append(self.ranked.pop(0))
            actions, shared_acc = self.proposed[-1]
        else:  # every candidate was proposed: the best again (a replay; the loop stops)
            actions, shared_acc = self.proposed[0]
        info = {"shared_acc": shared_acc, "evaluated": float(self.evaluated)}
        return Proposal(self._arch(actions), actions, info)

    def observe(self, feedback: Feedback) -> None:
        pass  # as in ENAS, the retrained accuracy does not train the controller

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "learner": self.learner.state_dict(),
            "generator": self.generator.get_state().numpy(),
            "epoch": self.epoch,
            "history": [dict(h) for h in self.history],
            "evaluated": self.evaluated,
            "ranked": None if self.ranked is None else list(self.ranked),
            "proposed": list(self.proposed),
            "shared_config": asdict(self._shared_config),
        }
        if self.shared is not None and self.ranked is None:  # not needed after the ranking
            state["shared"] = self.shared.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.learner.load_state_dict(state["learner"])
        self.generator.set_state(torch.from_numpy(state["generator"].copy()))
        self.epoch = int(state["epoch"])
        self.history = [dict(h) for h in state["history"]]
        self.evaluated = int(state["evaluated"])
        ranked = state["ranked"]
        self.ranked = None if ranked is None else [(tuple(a), float(v)) for a, v in ranked]
        self.proposed = [(tuple(a), float(v)) for a, v in state["proposed"]]
        if self.shared is not None and "shared" in state:
            self.shared.load_state_dict(state["shared"])
