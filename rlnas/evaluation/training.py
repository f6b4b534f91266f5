"""What every evaluator that trains networks on a data set shares, images and text alike.

:class:`DataEvaluator` holds the data recipe (a picklable spec a worker loads from), the
loaded data, the training recipes of the search and of the final models, the device and
the thread count. Pickled, it leaves its data behind and a worker reloads it from the
spec, unless it is a :meth:`~DataEvaluator.with_data` copy (for Ray nodes without the
files). :class:`SGDSharedWeights` is the optimiser and the learning-rate cosine that the
super-networks of every kind of data train with.
"""

from __future__ import annotations

import hashlib
import json
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Generic, Protocol, TypeVar

import torch
from torch import nn

from rlnas.arch import Architecture
from rlnas.evaluation.base import Evaluator
from rlnas.evaluation.pruning import StopRule
from rlnas.results import EvalResult, SharedTrainConfig, SharedWeights

__all__ = ["DataEvaluator", "DataSpecLike", "SGDSharedWeights", "pick_device", "torch_threads"]


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available; use --device cpu")
    return device


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run torch on ``count`` threads (None: one), then restore the previous count.

    A recurrent model steps through time one small matrix product after another
    (``(B, H) x (H, 2H)``); waking a thread pool for each of them made a training step
    of a small cell 6-180x slower on two busy cores than one thread. Large models
    (hundreds of units) may gain from more: pass ``--threads``.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(count or 1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class DataSpecLike(Protocol):
    """A frozen, picklable recipe for loading data (:class:`~rlnas.evaluation.image.DataSpec`,
    :class:`~rlnas.evaluation.text.TextSpec`)."""

    @property
    def subset(self) -> int | None: ...

    def load(self) -> Any: ...


D = TypeVar("D")


class DataEvaluator(Evaluator, Generic[D]):
    """An evaluator that trains each child on data loaded from ``spec``.

    ``loaded`` is the data the search trains on (loaded from ``spec`` when not given);
    :meth:`full_data` is all of it, without the search's subset, for the final models and
    the shortlist. ``final_config`` (default: the search's) is the final recipe; its
    ``epochs`` is replaced by the caller's.
    """

    #: Pickle the data too (see :meth:`with_data`).
    carry_data: bool = False

    def __init__(
        self,
        spec: DataSpecLike,
        train_config: Any,
        final_config: Any = None,
        *,
        device: str = "auto",
        threads: int | None = None,
        loaded: D | None = None,
    ) -> None:
        self.data = spec
        self.train_config = train_config
        self.final_config = final_config or train_config
        self.device_name = device
        self.device = pick_device(device)
        self.threads = threads
        self.loaded: D = loaded if loaded is not None else spec.load()
        #: all the data when the search uses a subset: loaded at the first final or
        #: shortlist training of this process, never pickled
        self._full: D | None = None

    def full_data(self) -> D:
        """All the training data, even when the search used a subset (loaded once per
        process, at the first shortlist or final training)."""
        if self.data.subset is None:
            return self.loaded
        if self._full is None:
            self._full = replace(self.data, subset=None).load()  # type: ignore[type-var]
        return self._full

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_full"] = None  # loaded again where needed
        if not self.carry_data:
            state["loaded"] = None  # workers reload the data from the spec
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.device = pick_device(self.device_name)  # this worker's device: its GPU, if any
        if self.loaded is None:
            self.loaded = self.data.load()

    def with_data(self) -> DataEvaluator[D]:
        carrier = object.__new__(type(self))  # not copy.copy: that pickles, dropping the data
        carrier.__dict__.update(self.__dict__, carry_data=True)
        return carrier

    def evaluate(
        self, arch: Architecture, seed: int, *, prune: StopRule | None = None
    ) -> EvalResult:
        return self.train_model(arch, seed, prune=prune)[0]

    @abstractmethod
    def train_model(
        self, arch: Architecture, seed: int, *, prune: StopRule | None = None
    ) -> tuple[EvalResult, nn.Module]:
        """:meth:`evaluate`, also returning the trained model."""

    @staticmethod
    def digest(payload: dict[str, Any]) -> str:
        """The fingerprint of ``payload``: a short hash of its sorted JSON."""
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class SGDSharedWeights(SharedWeights):
    """Shared weights trained by SGD as ``config`` says (ENAS's ``child_*`` settings):
    Nesterov momentum when there is momentum, weight decay, and a learning rate that
    follows :meth:`SharedTrainConfig.learning_rate`, one cosine over the phase."""

    config: SharedTrainConfig
    optimizer: torch.optim.Optimizer

    def make_optimizer(self, params: Any) -> torch.optim.Optimizer:
        c = self.config
        return torch.optim.SGD(
            params, lr=c.child_lr_max, momentum=c.child_momentum,
            nesterov=c.child_momentum > 0, weight_decay=c.child_l2_reg,
        )  # fmt: skip

    def start_epoch(self, epoch: int, num_epochs: int) -> None:
        lr = self.config.learning_rate(epoch, num_epochs)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
