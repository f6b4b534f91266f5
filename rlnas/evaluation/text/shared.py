"""Shared weights on text: ENAS's recurrent super-network trained child by child.

:class:`TextSharedWeights` implements :class:`~rlnas.results.SharedWeights` for
an :class:`~rlnas.nn.rnn.RnnSuperNet` on a corpus's training and validation text, as
ENAS trained its recurrent cells: the training text is cut into ``child_batch_size``
streams; each training step takes the next ``bptt`` segment down them with the child it
is given, carrying the recurrent state from step to step (whichever child produced it)
and resetting it at the start of each pass. Only the matrices the child uses get
gradients, so SGD moves exactly those (and the shared embedding and decoder).

Scores are ``reward_c / perplexity``: :meth:`~TextSharedWeights.score` on the next
validation segment (from a zero state), :meth:`~TextSharedWeights.validate` on the first
segments (the same text for every candidate).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from rlnas.arch import Architecture
from rlnas.data.text import Corpus
from rlnas.evaluation.text.trainer import LMTrainConfig, batchify, detach_state, nll_sum
from rlnas.evaluation.training import SGDSharedWeights, torch_threads
from rlnas.nn.rnn import RnnSuperNet
from rlnas.nn.state import to_numpy, to_torch
from rlnas.results import SharedTrainConfig

__all__ = ["TEXT_SHARED_DEFAULTS", "TextSharedWeights"]

#: ENAS's settings for recurrent cells (its released PTB scripts): 64 streams, plain SGD
#: at 20 with the gradient norm clipped at 0.25, L2 5e-7; annealed here by one cosine to 1
#: over the (short) phase. Settings a strategy gives explicitly override these.
TEXT_SHARED_DEFAULTS = SharedTrainConfig(
    child_batch_size=64, child_lr_max=20.0, child_lr_min=1.0, child_momentum=0.0,
    child_l2_reg=5e-7, child_grad_bound=0.25,
)  # fmt: skip


class TextSharedWeights(SGDSharedWeights):
    """``supernet`` trained on ``corpus``'s training text, scored on its validation text.

    SGD with Nesterov momentum, weight decay and gradient clipping per ``config`` (the
    ``child_*`` settings of ENAS); the learning rate follows one cosine over the phase.
    ``lm`` gives ``bptt`` and ``reward_c``. Dropout masks are drawn from a generator seeded
    by ``seed`` and the step count, so a restored object continues identically. Torch
    runs on ``threads`` threads during each call (None: one).
    """

    def __init__(
        self,
        supernet: RnnSuperNet,
        corpus: Corpus,
        config: SharedTrainConfig,
        lm: LMTrainConfig,
        *,
        seed: int,
        device: torch.device | str = "cpu",
        threads: int | None = None,
    ) -> None:
        self.device, self.threads = torch.device(device), threads
        self.net = supernet.to(self.device)
        self.config, self.bptt, self.reward_c, self.seed = config, lm.bptt, lm.reward_c, seed
        streams = config.child_batch_size
        try:
            self.train = batchify(corpus.train, streams).to(self.device)  # (T, B)
            self.valid = batchify(corpus.valid, streams).to(self.device)
        except ValueError as error:
            raise ValueError(f"weight sharing (child_batch_size {streams}): {error}") from None
        self.optimizer = self.make_optimizer(self.net.parameters())
        self.steps_per_epoch = math.ceil((len(self.train) - 1) / self.bptt)
        self.val_segments = math.ceil((len(self.valid) - 1) / self.bptt)
        self.position = 0  # next training segment
        self.val_position = 0  # next validation segment of score()
        self.steps = 0  # training steps taken: seeds each step's dropout
        self.state: Tensor | None = None  # recurrent state carried between training steps

    def _segment(self, data: Tensor, index: int) -> tuple[Tensor, Tensor]:
        start = index * self.bptt
        length = min(self.bptt, len(data) - 1 - start)
        return data[start : start + length], data[start + 1 : start + 1 + length]

    def train_step(self, arch: Architecture) -> float:
        with torch_threads(self.threads):
            return self._train_step(arch)

    def _train_step(self, arch: Architecture) -> float:
        if self.position >= self.steps_per_epoch:  # a new pass down the streams
            self.position, self.state = 0, None
        inputs, targets = self._segment(self.train, self.position)
        self.position += 1
        self.net.train()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 1_000_003 + self.steps)  # this step's dropout
            logits, state = self.net.run(inputs, self.state, arch)  # (T, B, vocab)
        self.steps += 1
        loss = nll_sum(logits, targets) / targets.numel()
        self.optimizer.zero_grad(set_to_none=True)  # unused matrices keep grad None
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), self.config.child_grad_bound)
        self.optimizer.step()
        self.state = detach_state(state)
        return float(loss.detach())

    @torch.no_grad()
    def _reward(self, arch: Architecture, indices: range) -> float:
        """``reward_c / perplexity`` over validation segments ``indices``, state carried."""
        with torch_threads(self.threads):
            return self._reward_unthreaded(arch, indices)

    def _reward_unthreaded(self, arch: Architecture, indices: range) -> float:
        self.net.eval()
        total, count, state = 0.0, 0, None
        for index in indices:
            inputs, targets = self._segment(self.valid, index)
            logits, state = self.net.run(inputs, state, arch)
            total += float(nll_sum(logits, targets))
            count += targets.numel()
        return self.reward_c / math.exp(min(total / count, 50.0))

    def score(self, arch: Architecture) -> float:
        index = self.val_position % self.val_segments
        self.val_position += 1
        return self._reward(arch, range(index, index + 1))

    def validate(self, arch: Architecture, batches: int) -> float:
        return self._reward(arch, range(min(batches, self.val_segments)))

    def state_dict(self) -> dict[str, Any]:
        return {
            "net": to_numpy(self.net.state_dict()),
            "optimizer": to_numpy(self.optimizer.state_dict()),
            "position": self.position,
            "val_position": self.val_position,
            "steps": self.steps,
            "state": to_numpy(self.state),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(to_torch(state["net"], self.device))
        self.optimizer.load_state_dict(to_torch(state["optimizer"], self.device))
        self.position = int(state["position"])
        self.val_position = int(state["val_position"])
        self.steps = int(state["steps"])
        self.state = to_torch(state["state"], self.device)
