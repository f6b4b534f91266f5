"""A fake evaluator with a known optimum, for tests that check learning in milliseconds."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlnas.arch import Architecture
from rlnas.evaluation.base import Evaluator
from rlnas.evaluation.pruning import StopRule
from rlnas.results import (
    EvalResult,
    FinalScore,
    SharedTrainConfig,
    SharedWeights,
    ShortlistScore,
    TrialStatus,
)
from rlnas.spaces.base import SearchSpace

__all__ = ["FakeEvaluator", "FakeSharedWeights"]


class FakeEvaluator(Evaluator):
    """Scores an architecture by how many positions it shares with a hidden target.

    ``val_acc = floor + (1 - floor) * matches / max(len(arch), len(target))`` plus optional
    deterministic noise, so the target (and only the target) scores 1.0 without noise.
    The default target is a random path of ``target_length`` layers (or the longest of
    1,000 samples if none is that long), drawn from a stream no strategy seeded alike uses.

    >>> from rlnas.spaces import make_space
    >>> space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    >>> fake = FakeEvaluator(space, seed=0)
    >>> fake.evaluate(fake.target, seed=1).val_acc
    1.0
    """

    can_shortlist = True
    can_screen = True

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        target: Architecture | None = None,
        seed: int = 0,
        target_length: int = 5,
        noise: float = 0.0,
        floor: float = 0.6,
        epochs: int = 1,
        input_shape: tuple[int, int, int] = (1, 8, 8),
    ) -> None:
        if target is None:
            rng = np.random.default_rng(
                [seed, 0xFA4E]
            )  # not the stream a strategy seeded `seed` uses
            samples = [space.sample(rng)[0] for _ in range(1000)]
            exact = [arch for arch in samples if len(arch) == target_length]
            target = exact[0] if exact else max(samples, key=len)
        self.target = target
        self.noise, self.floor, self.epochs = noise, floor, epochs
        self.num_classes = target.num_classes
        self.input_shape = input_shape

    @property
    def fingerprint(self) -> str:
        text = f"fake|{self.target}|{self.noise}|{self.floor}|{self.epochs}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def score(self, arch: Architecture) -> float:
        """Noise-free accuracy of ``arch``."""
        matches = sum(a == b for a, b in zip(arch.layers, self.target.layers, strict=False))
        return self.floor + (1 - self.floor) * matches / max(len(arch), len(self.target))

    def evaluate(
        self, arch: Architecture, seed: int, *, prune: StopRule | None = None
    ) -> EvalResult:
        """A learning curve over ``epochs`` that rises to the score (cut short by ``prune``)."""
        value = self.score(arch)
        if self.noise:
            digest = hashlib.sha256(f"{arch}|{seed}".encode()).digest()
            value += self.noise * np.random.default_rng(list(digest[:8])).standard_normal()
        start = 1.0 / self.num_classes
        curve: list[float] = []
        status = TrialStatus.OK
        for e in range(self.epochs):
            curve.append(float(value - (value - start) * (1 - (e + 1) / self.epochs) ** 2))
            if prune is not None and prune.should_stop(e, curve):
                status = TrialStatus.PRUNED
                break
        return EvalResult(
            status,
            val_acc=max(curve),
            num_classes=self.num_classes,
            seconds=float(len(curve)),  # one simulated second per epoch
            val_curve=tuple(curve),
            epochs=len(curve),
        )

    def final(
        self, arch: Architecture, seed: int, epochs: int, *, save_to: Path | None = None
    ) -> FinalScore:
        """The noise-free score stands in for test accuracy; nothing is saved."""
        return FinalScore(self.score(arch), epochs, 0.0)

    def shortlist_score(self, arch: Architecture, seed: int, epochs: int) -> ShortlistScore:
        """The noise-free score: a longer, faithful measurement than the noisy search."""
        return ShortlistScore(self.score(arch), epochs, 0.0)

    def screen(self, archs: Sequence[Architecture], proxy: str, *, seed: int) -> list[float]:
        """A proxy that knows something: the noise-free score plus noise twice the
        evaluator's, drawn per architecture and seed (the proxy's name is not used)."""
        scores = []
        for arch in archs:
            digest = hashlib.sha256(f"screen|{arch}|{seed}".encode()).digest()
            noise = 2 * self.noise * np.random.default_rng(list(digest[:8])).standard_normal()
            scores.append(self.score(arch) + float(noise))
        return scores

    def shared_weights(
        self, space: SearchSpace[Any], config: SharedTrainConfig, *, seed: int
    ) -> SharedWeights:
        """Shared weights that score every child by :meth:`score` (plus the noise)."""
        return FakeSharedWeights(self, seed=seed)


class FakeSharedWeights(SharedWeights):
    """Weight sharing with a known answer: a child's accuracy under the "shared weights"
    is the fake evaluator's score, with the evaluator's noise drawn per call; training
    steps only count. Weight-sharing strategies run on any space in milliseconds."""

    steps_per_epoch = 2

    def __init__(self, fake: FakeEvaluator, *, seed: int) -> None:
        self.fake, self.seed = fake, seed
        self.steps = 0  # training steps taken
        self.calls = 0  # score() calls: the noise stream's position

    def start_epoch(self, epoch: int, num_epochs: int) -> None:
        pass

    def train_step(self, arch: Architecture) -> float:
        self.steps += 1
        return 1.0 - self.fake.score(arch)

    def score(self, arch: Architecture) -> float:
        self.calls += 1
        value = self.fake.score(arch)
        if self.fake.noise:
            digest = hashlib.sha256(f"{arch}|{self.seed}|{self.calls}".encode()).digest()
            value += self.fake.noise * np.random.default_rng(list(digest[:8])).standard_normal()
        return float(value)

    def validate(self, arch: Architecture, batches: int) -> float:
        return self.fake.score(arch)

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "calls": self.calls}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps, self.calls = int(state["steps"]), int(state["calls"])
