"""Shared weights on real data: a super-network trained child by child (ENAS).

:class:`SupernetWeights` implements :class:`~rlnas.results.SharedWeights` for
any super-network of :mod:`rlnas.nn.supernet` on the train/validation split of a
:class:`~rlnas.evaluation.image.TrainingEvaluator`. Each training step draws the next
mini-batch of a seeded permutation of the training data and updates only the weights the
given child uses (the others get no gradient, so SGD leaves them and their momentum alone).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from rlnas.arch import Architecture
from rlnas.data import Split
from rlnas.evaluation.training import SGDSharedWeights
from rlnas.nn.state import to_numpy, to_torch
from rlnas.results import SharedTrainConfig

__all__ = ["BatchOrder", "SupernetWeights"]


class BatchOrder:
    """Mini-batches of ``range(size)`` in seeded random order, one permutation per pass."""

    def __init__(self, size: int, batch_size: int, seed: int) -> None:
        if size < 1:
            raise ValueError("cannot draw batches from an empty data set")
        self.size, self.batch_size = size, batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.order = torch.randperm(size, generator=self.generator)
        self.position = 0

    def next(self) -> torch.Tensor:
        """The indices of the next batch (the last of a pass may be smaller)."""
        if self.position >= self.size:
            self.order = torch.randperm(self.size, generator=self.generator)
            self.position = 0
        batch = self.order[self.position : self.position + self.batch_size]
        self.position += len(batch)
        return batch

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.get_state().numpy(),
            "order": self.order.numpy().copy(),
            "position": self.position,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(torch.from_numpy(state["generator"].copy()))
        self.order = torch.from_numpy(state["order"].copy())
        self.position = int(state["position"])


class SupernetWeights(SGDSharedWeights):
    """``supernet`` trained on ``split``'s training data and scored on its validation data.

    SGD with Nesterov momentum, weight decay and gradient clipping per ``config``; the
    learning rate follows one cosine over the phase (ENAS restarts it; one cycle suits
    phases of a few dozen epochs). The tensors are moved to ``device`` once.
    """

    def __init__(
        self,
        supernet: nn.Module,
        split: Split,
        config: SharedTrainConfig,
        *,
        seed: int,
        device: torch.device | str = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.net = supernet.to(self.device)
        self.config = config
        self.x, self.y = split.x_train.to(self.device), split.y_train.to(self.device)
        self.x_val, self.y_val = split.x_val.to(self.device), split.y_val.to(self.device)
        if not len(self.x_val):
            raise ValueError("weight sharing needs validation data; raise --val-fraction")
        self.optimizer = self.make_optimizer(self.net.parameters())
        self.train_order = BatchOrder(len(self.x), config.child_batch_size, seed)
        self.val_order = BatchOrder(len(self.x_val), config.child_batch_size, seed + 1)
        self.steps_per_epoch = math.ceil(len(self.x) / config.child_batch_size)
        self.loss_fn = nn.CrossEntropyLoss()

    def train_step(self, arch: Architecture) -> float:
        index = self.train_order.next().to(self.device)
        self.net.train()
        logits = self.net(self.x.index_select(0, index), arch)  # (B, classes)
        loss = self.loss_fn(logits, self.y.index_select(0, index))
        self.optimizer.zero_grad(set_to_none=True)  # unused weights keep grad None
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), self.config.child_grad_bound)
        self.optimizer.step()
        return float(loss.detach())

    @torch.no_grad()
    def _accuracy(self, arch: Architecture, index: torch.Tensor) -> float:
        self.net.eval()
        logits = self.net(self.x_val.index_select(0, index), arch)  # (B, classes)
        return float((logits.argmax(1) == self.y_val.index_select(0, index)).float().mean())

    def score(self, arch: Architecture) -> float:
        return self._accuracy(arch, self.val_order.next().to(self.device))

    def validate(self, arch: Architecture, batches: int) -> float:
        size = min(len(self.x_val), batches * self.config.child_batch_size)
        correct = 0.0
        for start in range(0, size, self.config.child_batch_size):
            index = torch.arange(start, min(start + self.config.child_batch_size, size))
            correct += self._accuracy(arch, index.to(self.device)) * len(index)
        return correct / size

    def state_dict(self) -> dict[str, Any]:
        return {
            "net": to_numpy(self.net.state_dict()),
            "optimizer": to_numpy(self.optimizer.state_dict()),
            "train_order": self.train_order.state_dict(),
            "val_order": self.val_order.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(to_torch(state["net"], self.device))
        self.optimizer.load_state_dict(to_torch(state["optimizer"], self.device))
        self.train_order.load_state_dict(state["train_order"])
        self.val_order.load_state_dict(state["val_order"])
