"""Child-network training, MetaQNN's recipe: Adam, step decay, restarts when stuck at chance.

Batches are sliced from in-memory tensors (one ``index_select`` per batch, no per-sample
Python work). Everything is seeded: the same seed gives the same result on CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch
from torch import nn

from rlnas.arch import Architecture
from rlnas.evaluation.image.augment import augment_batch
from rlnas.nn import BuildOptions, build

__all__ = [
    "FINAL_RECIPES",
    "FLIP_SAFE",
    "NOT_FLIP_SAFE",
    "EpochHook",
    "TrainConfig",
    "TrainOutcome",
    "evaluate_accuracy",
    "final_recipe",
    "train",
]

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("step", "cosine", "onecycle")
AUGMENTATIONS = ("flip", "shift", "cutout")

#: Called after each epoch with (epoch, model, validation curve so far); True stops training.
EpochHook = Callable[[int, nn.Module, list[float]], bool | None]


@dataclass(frozen=True)
class TrainConfig:
    """How a child network is trained (every field changes results, so all are fingerprinted)."""

    #: Epochs per child.
    epochs: int = 8
    #: Mini-batch size.
    batch_size: int = 128
    #: Adam's learning rate, betas and epsilon (MetaQNN's values).
    learning_rate: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    #: Multiply the learning rate by ``lr_decay`` every ``lr_step`` epochs.
    lr_decay: float = 0.2
    lr_step: int = 5
    #: Restarts: after ``restart_min_steps`` optimiser steps (or all of them, if fewer), if
    #: validation accuracy is not above chance by ``restart_margin``, start again with the
    #: learning rate times ``restart_factor``, at most ``max_restarts`` times and while
    #: the failed tries together have trained at most ``restart_budget`` times the steps
    #: of one whole training (so a network stuck at chance costs a few children, not more).
    max_restarts: int = 5
    restart_factor: float = 0.4
    restart_margin: float = 0.05
    restart_min_steps: int = 100
    restart_budget: float = 2.0
    #: Dropout and batch-norm options of the built network.
    build: BuildOptions = field(default_factory=BuildOptions)
    #: Optimiser: "adam" (MetaQNN's), "adamw" or "sgd" (Nesterov, ``momentum``).
    optimizer: str = "adam"
    weight_decay: float = 0.0
    momentum: float = 0.9
    #: Learning-rate schedule: "step" (``lr_decay`` every ``lr_step`` epochs), or, per
    #: batch, "cosine" (to 0) or "onecycle" (warm-up to ``learning_rate``, then down).
    schedule: str = "step"
    #: Label smoothing of the cross-entropy loss.
    label_smoothing: float = 0.0
    #: Training-time augmentation of each batch: "none", or "+"-joined "flip" (random
    #: horizontal flips), "shift" (random translations of up to ``shift`` pixels, zero
    #: filled) and "cutout" (a ``cutout``-pixel square at a random place set to zero,
    #: DeVries & Taylor 2017). Never applied when evaluating.
    augment: str = "none"
    shift: int = 2
    cutout: int = 8
    #: Test-time augmentation of the final test: average the class probabilities of each
    #: image and its left-right mirror (two forward passes per image; only for data sets
    #: whose classes survive a flip). The search, the shortlist and the validation curves
    #: always score one pass.
    test_flip: bool = False

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr_step < 1:
            raise ValueError("epochs, batch_size and lr_step must be at least 1")
        if not self.learning_rate > 0:
            raise ValueError("learning_rate must be positive")
        choices = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )
        if set(self.augmentations) - set(AUGMENTATIONS):
            raise ValueError(
                f"augment must be none or +-joined {', '.join(AUGMENTATIONS)}, got {self.augment!r}"
            )
        if self.weight_decay < 0 or not 0 <= self.label_smoothing < 1:
            raise ValueError("weight_decay must be >= 0 and label_smoothing in [0, 1)")
        if self.shift < 0 or self.cutout < 0:
            raise ValueError("shift and cutout must be >= 0")

    @property
    def augmentations(self) -> frozenset[str]:
        return frozenset() if self.augment == "none" else frozenset(self.augment.split("+"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainOutcome:
    """The record of one training run (the best validation accuracy is the reward)."""

    val_curve: tuple[float, ...]
    train_loss: tuple[float, ...]
    restarts: int
    failed: str | None  # the reason, when training failed
    model: nn.Module
    pruned: bool = False  # stopped early by ``on_epoch``

    @property
    def best_val(self) -> float:
        return max(self.val_curve, default=0.0)


@torch.inference_mode()
def evaluate_accuracy(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 1024,
    *,
    flip: bool = False,
) -> float:
    """Top-1 accuracy of ``model`` on ``(x, y)``, in eval mode; with ``flip``, of the mean
    class probabilities of each image and its left-right mirror."""
    model.eval()
    correct = 0
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]  # (B, C, H, W)
        scores = model(batch)  # (B, classes)
        if flip:
            scores = scores.softmax(1) + model(batch.flip(3)).softmax(1)
        correct += int((scores.argmax(1) == y[start : start + batch_size]).sum())
    return correct / max(len(x), 1)


def train(
    arch: Architecture,
    data: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor] | None,
    *,
    num_classes: int,
    config: TrainConfig,
    seed: int,
    device: torch.device | str = "cpu",
    on_epoch: EpochHook | None = None,
) -> TrainOutcome:
    """Train ``arch`` on ``data``; validate each epoch on ``val`` (if given).

    Tensors may live on any device; they are moved to ``device`` once. Returns the curve
    and the trained model; a NaN loss or running out of memory returns ``failed`` with the
    reason instead of raising, and so does a network that cannot be built. Hyper-parameter
    tokens of ``arch`` (``LR(n)``, ``BS(n)``) override ``config``. Without ``val`` there are
    no restarts. ``on_epoch(epoch,
    model, val_curve)`` is called after each epoch (epoch 0 again after a restart); when it
    returns True training stops there and the outcome is marked ``pruned``.
    """
    device = torch.device(device)
    if arch.settings:  # searched hyper-parameters (LR, BS tokens) set this training
        settings: dict[str, Any] = dict(arch.settings)
        config = replace(config, **settings)
    x, y = _on(device, data)
    xv, yv = _on(device, val) if val is not None else (None, None)
    fast = torch.channels_last
    input_shape = (x.shape[1], x.shape[2], x.shape[3])
    chance = 1.0 / num_classes
    lr = config.learning_rate
    restarts, failed_steps = 0, 0
    while True:
        torch.manual_seed(seed + 7919 * restarts)  # init and dropout
        shuffle = torch.Generator().manual_seed(seed + 7919 * restarts)
        try:
            model = build(arch, input_shape, num_classes, config.build)
        except ValueError as error:  # e.g. a space of the user's that allows FC before conv
            return TrainOutcome((chance,), (), restarts, f"cannot build: {error}", nn.Identity())
        model = model.to(device).to(memory_format=fast)  # type: ignore[call-overload]
        try:
            curve, losses = _fit(model, x, y, xv, yv, config, lr, shuffle, chance, on_epoch)
        except _Stuck as stuck:
            failed_steps += stuck.steps
            if not _may_restart(config, restarts, failed_steps, stuck.steps, len(x)):
                reason = f"not better than chance after {restarts + 1} tries"
                return TrainOutcome((chance,), (), restarts, reason, model)
            restarts += 1
            lr *= config.restart_factor
            continue
        except _Diverged as error:
            return TrainOutcome((chance,), (), restarts, str(error), model)
        except (torch.OutOfMemoryError, RuntimeError, MemoryError) as error:
            if not _out_of_memory(error):
                raise
            return TrainOutcome((chance,), (), restarts, "out of memory", model)
        except _Pruned as stop:
            return TrainOutcome(tuple(stop.curve), tuple(stop.losses), restarts, None, model, True)
        return TrainOutcome(tuple(curve), tuple(losses), restarts, None, model)


def _may_restart(config: TrainConfig, restarts: int, spent: int, per_try: int, n: int) -> bool:
    """Another try is allowed: under ``max_restarts``, and its steps keep the failed tries
    within ``restart_budget`` whole trainings of ``n`` images."""
    whole = config.epochs * -(-n // config.batch_size)
    return restarts < config.max_restarts and spent + per_try <= config.restart_budget * whole


def _on(
    device: torch.device, data: tuple[torch.Tensor, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels on ``device``, the images channels-last (oneDNN's and cuDNN's
    fast convolution layout; ~20% faster on CPU)."""
    images, labels = data
    return images.to(device).contiguous(memory_format=torch.channels_last), labels.to(device)


def _out_of_memory(error: BaseException) -> bool:
    """CUDA's OutOfMemoryError, Python's MemoryError, or the CPU allocator's RuntimeError."""
    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(error)
    return "can't allocate memory" in text or "out of memory" in text


class _Stuck(Exception):
    def __init__(self, steps: int) -> None:
        super().__init__("stuck at chance")
        self.steps = steps


class _Pruned(Exception):
    def __init__(self, curve: list[float], losses: list[float]) -> None:
        super().__init__("pruned")
        self.curve, self.losses = curve, losses


class _Diverged(Exception):
    pass


def _fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    xv: torch.Tensor | None,
    yv: torch.Tensor | None,
    config: TrainConfig,
    lr: float,
    shuffle: torch.Generator,
    chance: float,
    on_epoch: EpochHook | None,
) -> tuple[list[float], list[float]]:
    optimizer = _optimizer(model, config, lr)
    n = len(x)
    steps_per_epoch = -(-n // config.batch_size)
    per_batch, schedule = _schedule(optimizer, config, lr, steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    augment = config.augmentations
    check_step = min(config.restart_min_steps, config.epochs * steps_per_epoch)
    step = 0
    curve: list[float] = []
    losses: list[float] = []
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(n, generator=shuffle).to(x.device)
        total = torch.zeros((), device=x.device)
        for start in range(0, n, config.batch_size):
            idx = order[start : start + config.batch_size]
            batch = x.index_select(0, idx)  # (B, C, H, W)
            if augment:
                batch = augment_batch(batch, augment, config.shift, shuffle, config.cutout)
            loss = loss_fn(model(batch), y.index_select(0, idx))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if per_batch:
                schedule.step()
            total += loss.detach() * len(idx)
            step += 1
            if step == check_step and xv is not None and yv is not None:
                _check_chance(model, xv, yv, chance + config.restart_margin, step)
        mean_loss = float(total) / n  # one device sync per epoch
        if not math.isfinite(mean_loss):
            raise _Diverged(f"loss became {mean_loss} in epoch {epoch + 1}")
        losses.append(mean_loss)
        if not per_batch:
            schedule.step()
        if xv is not None and yv is not None:
            curve.append(evaluate_accuracy(model, xv, yv))
        if on_epoch is not None and on_epoch(epoch, model, curve):
            raise _Pruned(curve, losses)
    return curve, losses


def _check_chance(
    model: nn.Module, xv: torch.Tensor, yv: torch.Tensor, bar: float, step: int
) -> None:
    """Raise :class:`_Stuck` unless ``model`` is above ``bar`` on validation, mid-epoch if
    need be (eval mode draws no random numbers: a training that goes on is unchanged)."""
    accuracy = evaluate_accuracy(model, xv, yv)
    model.train()
    if accuracy <= bar:
        raise _Stuck(step)


def _optimizer(model: nn.Module, config: TrainConfig, lr: float) -> torch.optim.Optimizer:
    params = model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=config.momentum, nesterov=True,
            weight_decay=config.weight_decay, foreach=True,
        )  # fmt: skip
    cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return cls(
        params, lr=lr, betas=config.betas, eps=config.eps,
        weight_decay=config.weight_decay, foreach=True,
    )  # fmt: skip


def _schedule(
    optimizer: torch.optim.Optimizer, config: TrainConfig, lr: float, steps_per_epoch: int
) -> tuple[bool, torch.optim.lr_scheduler.LRScheduler]:
    """The schedule, and whether it steps per batch (else per epoch)."""
    total = config.epochs * steps_per_epoch
    if config.schedule == "onecycle":
        return True, torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=total)
    if config.schedule == "cosine":
        return True, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total)
    return False, torch.optim.lr_scheduler.StepLR(optimizer, config.lr_step, config.lr_decay)


#: Names of the final-training recipes (``--final-recipe``).
FINAL_RECIPES = ("search", "strong")
#: Data sets whose classes survive a left-right flip: the strong recipe trains on flips.
FLIP_SAFE = ("fashion-mnist", "cifar10")
#: Data sets whose classes do not (a mirrored 2 is no 2): ``test_flip`` is refused. Sets in
#: neither list (a user's folder) flip only where the user's ``[final]`` table says so.
NOT_FLIP_SAFE = ("digits", "mnist")


def final_recipe(name: str, search: TrainConfig, dataset: str, side: int) -> TrainConfig:
    """The training recipe for the final models of a search on images of side ``side``.

    ``search``: the search-time recipe itself (MetaQNN's). ``strong``: AdamW (lr 3e-3,
    decoupled weight decay 0.05) with a one-cycle schedule, label smoothing 0.1 and
    augmentation: random shifts of up to ``side // 12`` pixels (2 on 28x28; none on 8x8
    digits, where one pixel is an eighth of the image) and left-right flips for the data
    sets in :data:`FLIP_SAFE`. The architecture's build options are kept.
    """
    if name == "search":
        return search
    if name == "strong":
        shift = side // 12
        kinds = (["flip"] if dataset in FLIP_SAFE else []) + (["shift"] if shift else [])
        return replace(
            search, optimizer="adamw", learning_rate=3e-3, weight_decay=0.05,
            schedule="onecycle", label_smoothing=0.1, augment="+".join(kinds) or "none",
            shift=shift,
        )  # fmt: skip
    raise ValueError(f"unknown final recipe {name!r}; choose one of {', '.join(FINAL_RECIPES)}")
