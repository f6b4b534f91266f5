"""A fake evaluator with a known optimum, for tests that check learning in milliseconds."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from rlnas.arch import Architecture
from rlnas.evaluation.base import Evaluator
from rlnas.evaluation.pruning import PruneRule
from rlnas.evaluation.result import EvalResult, FinalScore, TrialStatus
from rlnas.spaces.base import SearchSpace

__all__ = ["FakeEvaluator"]


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
        self, arch: Architecture, seed: int, *, prune: PruneRule | None = None
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
