"""Training recurrent language models: truncated back-propagation through time over token
streams held in memory, and perplexity.

A split (a 1-D tensor of token ids) is cut into ``batch_size`` contiguous streams side by
side, ``(T, B)`` (:func:`batchify`); training walks down them ``bptt`` steps at a time,
predicting each next token, and carries the recurrent state from one segment to the next
(detached: gradients stop at the segment boundary). Perplexity is ``exp`` of the mean
negative log-likelihood per predicted token. Everything is seeded: the same seed gives the
same model on the CPU.

>>> batchify(torch.arange(10), 3).T
tensor([[0, 1, 2],
        [3, 4, 5],
        [6, 7, 8]])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from rlnas.arch import Architecture
from rlnas.nn import build
from rlnas.nn.options import BuildOptions

__all__ = [
    "LMOutcome",
    "LMTrainConfig",
    "batchify",
    "detach_state",
    "perplexity",
    "train_lm",
]

#: Mean negative log-likelihoods above this count as diverged (perplexity e^50).
MAX_NLL = 50.0


@dataclass(frozen=True)
class LMTrainConfig:
    """How a language model is trained; every field can be set in the ``[train]`` table.

    The defaults suit small character-level models on a CPU (Adam converges in a few
    epochs); ENAS trained its children with SGD, ``learning_rate = 20``, ``max_grad_norm
    = 0.25``, ``batch_size = 64``, ``bptt = 35`` (set ``optimizer = "sgd"``).
    """

    epochs: int = 8
    #: Streams trained side by side (the mini-batch).
    batch_size: int = 32
    #: Steps of truncated back-propagation through time.
    bptt: int = 35
    #: Streams side by side when measuring perplexity.
    eval_batch_size: int = 10
    #: "adam" or "sgd" (plain SGD, as Zaremba et al. and ENAS).
    optimizer: str = "adam"
    learning_rate: float = 0.003
    #: The learning rate is multiplied by this after every epoch (ENAS: 0.96; 1: constant).
    lr_decay: float = 1.0
    #: Clip the gradient norm of each step to this (ENAS: 0.25).
    max_grad_norm: float = 0.25
    weight_decay: float = 0.0
    #: Dropout on the embeddings and on the recurrent outputs.
    dropout: float = 0.0
    #: The reward is ``reward_c / validation perplexity`` (Zoph & Le, ENAS: c = 80).
    reward_c: float = 80.0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "bptt", "eval_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be adam or sgd, got {self.optimizer!r}")
        if not self.learning_rate > 0 or not 0 < self.lr_decay <= 1:
            raise ValueError("need learning_rate > 0 and 0 < lr_decay <= 1")
        if not self.max_grad_norm > 0 or self.weight_decay < 0 or not self.reward_c > 0:
            raise ValueError("need max_grad_norm > 0, weight_decay >= 0 and reward_c > 0")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LMOutcome:
    """A trained language model and how it went. ``val_ppl`` has one entry per epoch."""

    model: nn.Module
    val_ppl: tuple[float, ...]
    train_loss: tuple[float, ...]
    failed: str | None = None
    pruned: bool = False


def batchify(ids: Tensor, batch: int) -> Tensor:
    """``(N,)`` token ids -> ``(N // batch, batch)``: ``batch`` contiguous streams, the
    remainder dropped. Raises ``ValueError`` when a stream would be shorter than 2."""
    steps = len(ids) // batch
    if steps < 2:
        raise ValueError(
            f"{len(ids)} tokens are too few for {batch} streams of at least 2 tokens; "
            "lower batch_size / eval_batch_size or use more text"
        )
    return ids[: steps * batch].view(batch, steps).t().contiguous()


def segments(data: Tensor, bptt: int) -> Iterator[tuple[Tensor, Tensor]]:
    """``(inputs, targets)`` of length <= ``bptt`` down ``data (T, B)``, targets shifted by one."""
    for start in range(0, len(data) - 1, bptt):
        length = min(bptt, len(data) - 1 - start)
        yield data[start : start + length], data[start + 1 : start + 1 + length]


def detach_state(state: Any) -> Any:
    """A recurrent state (a tensor, or a tuple of them for an LSTM) cut from its graph."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return None if state is None else state.detach()


def nll_sum(logits: Tensor, targets: Tensor) -> Tensor:
    """Summed negative log-likelihood of ``targets (T, B)`` under ``logits (T, B, V)``."""
    return nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum"
    )


@torch.no_grad()
def perplexity(
    model: nn.Module, data: Tensor, bptt: int, run: Callable[..., Any] | None = None
) -> float:
    """Perplexity of ``model`` on ``data (T, B)``, the state carried down the streams.
    ``run(tokens, state)`` replaces ``model(tokens, state)`` (e.g. a super-network's child)."""
    model.eval()
    run = run or model
    total, count, state = torch.zeros((), device=data.device), 0, None
    for inputs, targets in segments(data, bptt):
        logits, state = run(inputs, state)
        total += nll_sum(logits, targets)
        count += targets.numel()
    return math.exp(min(float(total) / count, MAX_NLL))


def train_lm(
    arch: Architecture,
    train: Tensor,
    valid: Tensor | None,
    *,
    config: LMTrainConfig,
    seed: int,
    device: torch.device,
    on_epoch: Callable[[int, list[float]], bool] | None = None,
) -> LMOutcome:
    """Train the language model ``arch`` on the token ids ``train`` for ``config.epochs``,
    measuring perplexity on ``valid`` after each epoch (when given).

    ``on_epoch(epoch, val_ppls)`` returning True stops training early (pruning). A loss
    that is not finite, or diverges past e^50 perplexity, fails the model: ``failed``
    says why. Raises ``ValueError`` when a split is too short for the batch sizes.
    """
    torch.manual_seed(seed)  # initialisation and dropout
    vocab = arch.num_classes
    model = build(arch, (1, 1, 1), vocab, BuildOptions(dropout=config.dropout)).to(device)
    data = batchify(train, config.batch_size).to(device)
    held = batchify(valid, config.eval_batch_size).to(device) if valid is not None else None
    optimizer: torch.optim.Optimizer
    if config.optimizer == "sgd":
        optimizer = torch.optim.SGD(
            model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
    else:
        optimizer = torch.optim.Adam(
            model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=config.lr_decay)
    val_ppl: list[float] = []
    losses: list[float] = []
    for epoch in range(config.epochs):
        model.train()
        total, count, state = torch.zeros((), device=device), 0, None
        for inputs, targets in segments(data, config.bptt):
            logits, state = model(inputs, state)
            loss = nll_sum(logits, targets) / targets.numel()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            state = detach_state(state)
            total += loss.detach() * targets.numel()
            count += targets.numel()
        mean = float(total) / count  # one synchronisation per epoch
        losses.append(mean)
        if not math.isfinite(mean) or mean > MAX_NLL:
            return LMOutcome(
                model, tuple(val_ppl), tuple(losses), f"loss diverged in epoch {epoch + 1}"
            )
        scheduler.step()
        if held is not None:
            val_ppl.append(perplexity(model, held, config.bptt))
            if on_epoch is not None and on_epoch(epoch, val_ppl):
                return LMOutcome(model, tuple(val_ppl), tuple(losses), pruned=True)
    return LMOutcome(model, tuple(val_ppl), tuple(losses))
