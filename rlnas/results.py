"""The neutral records every part speaks: what an evaluator returns (raw metrics only,
so any reward can be recomputed later) and the contract of shared weights.

Strategies, the store, the scheduler and the evaluators all use these types, and none of
them needs another's package for it. No torch.
"""

from __future__ import annotations

import enum
import gc
import hashlib
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from rlnas.arch import Architecture

__all__ = [
    "EvalResult",
    "FinalScore",
    "SharedTrainConfig",
    "SharedWeights",
    "ShortlistScore",
    "TrialStatus",
    "trial_seed",
]


def trial_seed(seed: int, arch: object) -> int:
    """The training seed of ``arch`` (an architecture or its string) in a run seeded
    ``seed``: independent of trial order and of which worker trains it, so the search, a
    resumed search, ``rlnas train`` and an export all train an architecture alike.

    >>> trial_seed(0, "[C(8,3,1), SM(10)]") == trial_seed(0, "[C(8,3,1), SM(10)]")
    True
    """
    digest = hashlib.sha256(f"{seed}|{arch}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


class TrialStatus(str, enum.Enum):
    """The fate of one trial. ``FAILED`` trials carry the reason in ``EvalResult.error``."""

    OK = "ok"
    FAILED = "failed"
    PRUNED = "pruned"


R = TypeVar("R")
#: Per record class: its fields' names, defaults and default factories (MISSING: none).
_FIELDS: dict[type, tuple[tuple[str, Any, Any], ...]] = {}


@contextmanager
def no_collection() -> Iterator[None]:
    """For reading many records: 100,000 trials make millions of objects and no garbage,
    which the cyclic garbage collector would scan over and over (1.5 of 3.5 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def restore(cls: type[R], data: Mapping[str, Any]) -> R:
    """The frozen dataclass ``cls`` holding the stored, already valid values ``data``, made
    as pickle makes one, without ``__init__`` (5x faster: a 100,000-trial run's report
    notices). Fields ``data`` lacks (stored by an older rlnas) get their defaults; keys
    ``cls`` lacks (a newer rlnas) are skipped.

    >>> restore(ShortlistScore, {"val_acc": 0.9, "epochs": 3, "seconds": 1.5, "later": 1})
    ShortlistScore(val_acc=0.9, epochs=3, seconds=1.5, failed=None)
    """
    spec = _FIELDS.get(cls)
    if spec is None:
        spec = tuple((f.name, f.default, f.default_factory) for f in fields(cls))  # type: ignore[arg-type]
        _FIELDS[cls] = spec
    obj = object.__new__(cls)
    values = obj.__dict__
    for name, default, factory in spec:
        if name in data:
            values[name] = data[name]
        elif factory is not MISSING:
            values[name] = factory()
        elif default is not MISSING:
            values[name] = default
        else:
            raise TypeError(f"a stored {cls.__name__} lacks {name!r}")
    return obj


@dataclass(frozen=True)
class EvalResult:
    """Raw measurements of one trained child network.

    ``val_acc`` is the best validation accuracy over the epochs (the MetaQNN reward); for a
    failed trial it is chance level, 1 / ``num_classes``.
    """

    status: TrialStatus
    val_acc: float
    num_classes: int
    params: int = 0
    flops: int = 0
    seconds: float = 0.0
    val_curve: tuple[float, ...] = ()
    train_loss: tuple[float, ...] = ()
    epochs: int = 0
    restarts: int = 0
    latency_ms: float | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is TrialStatus.OK

    def to_json(self) -> str:
        data = asdict(self)
        data["status"] = self.status.value
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EvalResult:
        data = json.loads(text)
        data["status"] = TrialStatus(data["status"])
        for name in ("val_curve", "train_loss"):
            data[name] = tuple(data.get(name, ()))
        return restore(cls, data)


@dataclass(frozen=True)
class ShortlistScore:
    """A model trained with the final recipe on the training split only and scored on the
    validation split: how a search's shortlist is re-ranked without looking at test."""

    val_acc: float
    epochs: int
    seconds: float
    failed: str | None = None


@dataclass(frozen=True)
class FinalScore:
    """A model retrained on train+validation and scored once on the test split."""

    test_acc: float
    epochs: int
    seconds: float
    train_loss: tuple[float, ...] = ()
    failed: str | None = None
    #: The training recipe used (a :class:`~rlnas.evaluation.image.TrainConfig` as a dict).
    recipe: dict[str, Any] = field(default_factory=dict)
    #: Other measurements of the final model, by name (e.g. a language model's
    #: ``test_ppl`` and its LSTM baseline's); stored with the final record.
    metrics: dict[str, float] = field(default_factory=dict)


# The narrow interface a weight-sharing strategy (ENAS) trains and scores children through.
# A SharedWeights object owns one super-network and the data; the strategy only says which
# child to train on the next training batch, or to score on validation data, and gets a
# loss or an accuracy back. It never sees the data, the trainer or the store. Evaluators
# create it (``Evaluator.shared_weights``) from a SharedTrainConfig the strategy declares.


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

    def learning_rate(self, epoch: int, num_epochs: int) -> float:
        """The learning rate of ``epoch`` (0-based) of ``num_epochs``: one cosine from
        ``child_lr_max`` down towards ``child_lr_min``.

        >>> config = SharedTrainConfig(child_lr_max=1.0, child_lr_min=0.0)
        >>> [round(config.learning_rate(e, 4), 3) for e in range(4)]
        [1.0, 0.854, 0.5, 0.146]
        """
        progress = epoch / max(num_epochs, 1)
        spread = self.child_lr_max - self.child_lr_min
        return self.child_lr_min + 0.5 * spread * (1 + math.cos(math.pi * progress))

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
