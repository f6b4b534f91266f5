"""An evaluator that misbehaves like a real cluster: slow trials and workers that die."""

from __future__ import annotations

import copy
import hashlib
import os
import signal
import time
from pathlib import Path

from rlnas.arch import Architecture
from rlnas.evaluation.base import Evaluator
from rlnas.evaluation.pruning import StopRule
from rlnas.results import EvalResult, FinalScore, ShortlistScore

__all__ = ["FaultyEvaluator"]


class FaultyEvaluator(Evaluator):
    """Wraps ``inner``: each evaluation takes ``delay`` seconds (slept, or spent spinning
    the CPU with ``busy=True``, like training), and kills its own process with SIGKILL, as
    the kernel's out-of-memory killer would, on the first attempt at a share ``die_once``
    of the architectures and on every attempt at a share ``die_always``.

    Which architectures die depends on a hash of the architecture only, so it is the same
    in every worker and every run (:meth:`fate`). Attempts are recorded as files under
    ``marks`` before anything else happens, so they survive the killed process and are
    counted across workers (:meth:`attempts`). Results and fingerprint are ``inner``'s.
    """

    def __init__(
        self,
        inner: Evaluator,
        marks: str | Path,
        *,
        delay: float = 0.0,
        busy: bool = False,
        die_once: float = 0.0,
        die_always: float = 0.0,
    ) -> None:
        self.inner = inner
        self.marks = Path(marks)
        self.marks.mkdir(parents=True, exist_ok=True)
        self.delay, self.busy = delay, busy
        self.die_once, self.die_always = die_once, die_always
        self.num_classes = inner.num_classes
        self.input_shape = inner.input_shape
        self.space = inner.space

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def fate(self, arch: Architecture | str) -> str:
        """``ok``, ``once`` (its first attempt dies) or ``always`` (every attempt dies)."""
        digest = hashlib.sha256(f"fate|{arch}".encode()).digest()
        u = int.from_bytes(digest[:4], "little") / 2**32
        if u < self.die_always:
            return "always"
        return "once" if u < self.die_always + self.die_once else "ok"

    def attempts(self, arch: Architecture | str) -> int:
        """How many evaluations of ``arch`` have started, in any process."""
        return len(list(self.marks.glob(f"{_stem(arch)}.*")))

    def _mark(self, arch: Architecture) -> int:
        n = 0
        while True:  # O_EXCL: two workers never get the same attempt number
            try:
                os.close(os.open(self.marks / f"{_stem(arch)}.{n}", os.O_CREAT | os.O_EXCL))
                return n
            except FileExistsError:
                n += 1

    def evaluate(
        self, arch: Architecture, seed: int, *, prune: StopRule | None = None
    ) -> EvalResult:
        attempt = self._mark(arch)
        fate = self.fate(arch)
        if self.busy:
            end = time.perf_counter() + self.delay
            while time.perf_counter() < end:
                pass
        else:
            time.sleep(self.delay)
        if fate == "always" or (fate == "once" and attempt == 0):
            os.kill(os.getpid(), signal.SIGKILL)
        return self.inner.evaluate(arch, seed, prune=prune)

    def with_data(self) -> FaultyEvaluator:
        carrier = copy.copy(self)
        carrier.inner = self.inner.with_data()
        return carrier

    def final(
        self, arch: Architecture, seed: int, epochs: int, *, save_to: Path | None = None
    ) -> FinalScore:
        return self.inner.final(arch, seed, epochs, save_to=save_to)

    def shortlist_score(self, arch: Architecture, seed: int, epochs: int) -> ShortlistScore:
        return self.inner.shortlist_score(arch, seed, epochs)


def _stem(arch: Architecture | str) -> str:
    return hashlib.sha256(str(arch).encode()).hexdigest()[:16]
