"""What an evaluator returns: raw metrics only, so any reward can be recomputed later."""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["EvalResult", "FinalScore", "ShortlistScore", "TrialStatus"]


class TrialStatus(str, enum.Enum):
    """The fate of one trial. ``FAILED`` trials carry the reason in ``EvalResult.error``."""

    OK = "ok"
    FAILED = "failed"
    PRUNED = "pruned"


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
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["status"] = TrialStatus(data["status"])
        for name in ("val_curve", "train_loss"):
            data[name] = tuple(data.get(name, ()))
        return cls(**data)


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
    #: The training recipe used (a :class:`~rlnas.evaluation.trainer.TrainConfig` as a dict).
    recipe: dict[str, Any] = field(default_factory=dict)
    #: Other measurements of the final model, by name (e.g. a language model's
    #: ``test_ppl`` and its LSTM baseline's); stored with the final record.
    metrics: dict[str, float] = field(default_factory=dict)
