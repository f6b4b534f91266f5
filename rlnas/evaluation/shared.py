"""The narrow interface a weight-sharing strategy (ENAS) trains and scores children through.

A :class:`SharedWeights` object owns one super-network and the data; the strategy only
says *which* child to train on the next training batch, or to score on validation data,
and gets a loss or an accuracy back. It never sees the data, the trainer or the store,
as DESIGN.md asks of every strategy. Evaluators create it
(:meth:`rlnas.evaluation.base.Evaluator.shared_weights`) from a :class:`SharedTrainConfig`
that the strategy declares.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields, replace
from typing import Any

from rlnas.arch import Architecture

__all__ = ["SharedTrainConfig", "SharedWeights"]


@dataclass(frozen=True)
class SharedTrainConfig:
    """How the shared weights are trained (ENAS's ``child_*`` flags): SGD with Nesterov
    momentum, L2 regularisation and gradient-norm clipping; the learning rate follows a
    cosine from ``child_lr_max`` to ``child_lr_min`` over the phase."""

    #: Mini-batch size of shared-weight training and of one validation batch.
    child_batch_size: int = 128
    child_lr_max: float = 0.05
    child_lr_min: float = 0.0005
    child_momentum: float = 0.9
    #: L2 regularisation (weight decay).
    child_l2_reg: float = 2.5e-4
    #: Clip the gradient norm of each step to this.
    child_grad_bound: float = 5.0
    #: The settings given explicitly (None: all of them); an evaluator may fill the others
    #: with its defaults for its kind of data (see :meth:`over`).
    explicit: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.child_batch_size < 1:
            raise ValueError(f"child_batch_size must be at least 1, got {self.child_batch_size}")
        if not 0 <= self.child_lr_min <= self.child_lr_max or not self.child_lr_max > 0:
            raise ValueError("need 0 <= child_lr_min <= child_lr_max and child_lr_max > 0")
        if self.child_l2_reg < 0 or self.child_grad_bound <= 0 or not 0 <= self.child_momentum < 1:
            raise ValueError(
                "need child_l2_reg >= 0, child_grad_bound > 0 and 0 <= child_momentum < 1"
            )

    def over(self, defaults: SharedTrainConfig) -> SharedTrainConfig:
        """``defaults`` with this config's explicit settings applied: how an evaluator
        whose data wants other defaults (e.g. text: ENAS's recurrent settings) reads it.

        >>> mine = SharedTrainConfig(child_lr_max=1.0, explicit=frozenset({"child_lr_max"}))
        >>> text = mine.over(SharedTrainConfig(child_batch_size=64, child_lr_max=20.0))
        >>> text.child_batch_size, text.child_lr_max
        (64, 1.0)
        """
        names = [f.name for f in fields(self) if f.name != "explicit"]
        given = names if self.explicit is None else [n for n in names if n in self.explicit]
        return replace(defaults, explicit=None, **{n: getattr(self, n) for n in given})


class SharedWeights(ABC):
    """One super-network with its data, trained and scored one child at a time.

    Call protocol: :meth:`start_epoch` before each epoch of the weight-sharing phase,
    then :meth:`train_step` (typically ``steps_per_epoch`` times) and :meth:`score` in any
    order. Training and validation batches are drawn in a seeded order that
    :meth:`state_dict` captures, so a restored object continues identically.
    """

    #: Training steps that make one pass over the training data.
    steps_per_epoch: int

    @abstractmethod
    def start_epoch(self, epoch: int, num_epochs: int) -> None:
        """Set the learning rate for ``epoch`` (0-based) of ``num_epochs``."""

    @abstractmethod
    def train_step(self, arch: Architecture) -> float:
        """One optimiser step of the weights ``arch`` uses, on the next training batch;
        returns the batch's loss."""

    @abstractmethod
    def score(self, arch: Architecture) -> float:
        """Accuracy of ``arch`` under the shared weights on the next validation batch."""

    @abstractmethod
    def validate(self, arch: Architecture, batches: int) -> float:
        """Accuracy of ``arch`` on the first ``batches`` validation batches: the same
        images for every call, so candidates are ranked on equal terms."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Weights, optimiser and batch-order state, as plain data."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
