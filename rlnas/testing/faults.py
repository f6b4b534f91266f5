"""Fault injection: an evaluator that misbehaves like a real cluster (slow trials, workers
that die, NaN losses, out-of-memory errors, hung trials), and :func:`check_kill_resume`,
which SIGKILLs a search at random moments and checks that resuming loses nothing."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rlnas.arch import Architecture
from rlnas.evaluation.base import Evaluator
from rlnas.evaluation.pruning import StopRule
from rlnas.results import EvalResult, FinalScore, SharedTrainConfig, SharedWeights, ShortlistScore
from rlnas.spaces.base import SearchSpace

__all__ = ["FaultyEvaluator", "KillReport", "check_kill_resume"]


class FaultyEvaluator(Evaluator):
    """Wraps ``inner``: each evaluation takes ``delay`` seconds (slept, or spent spinning
    the CPU with ``busy=True``, like training), and kills its own process with SIGKILL, as
    the kernel's out-of-memory killer would, on the first attempt at a share ``die_once``
    of the architectures and on every attempt at a share ``die_always``.

    Which architectures die depends on a hash of the architecture only, so it is the same
    in every worker and every run (:meth:`fate`). ``plan`` injects one fault into the n-th
    architecture evaluated (counted from 0 in the order their first attempts start, over
    every worker and every run that shares ``marks``): ``"nan"`` (trained at a learning
    rate that makes the loss NaN), ``"oom"`` (the CPU allocator fails in the forward pass),
    ``"hang"`` (never returns) or ``"die"`` (SIGKILL on its first attempt); ``nan`` and
    ``oom`` go through ``inner``'s own training, which must be a
    :class:`~rlnas.evaluation.image.TrainingEvaluator`. Attempts are recorded as files under
    ``marks`` before anything else happens, so they survive the killed process and are
    counted across workers (:meth:`attempts`). Results and fingerprint are ``inner``'s.
    ``load_delay``: seconds a worker takes to receive it (a large data set's loading).
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
        plan: dict[int, str] | None = None,
        load_delay: float = 0.0,
    ) -> None:
        self.inner = inner
        self.load_delay, self.origin = load_delay, os.getpid()
        self.marks = Path(marks)
        self.marks.mkdir(parents=True, exist_ok=True)
        self.delay, self.busy = delay, busy
        self.die_once, self.die_always = die_once, die_always
        self.plan = dict(plan or {})
        self.num_classes = inner.num_classes
        self.input_shape = inner.input_shape
        self.space = inner.space

    def __setstate__(self, state: dict[str, Any]) -> None:
        if os.getpid() != state.get("origin"):  # a worker receiving it (not a copy here)
            time.sleep(state.get("load_delay", 0.0))
        self.__dict__.update(state)

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    @property
    def can_shortlist(self) -> bool:  # type: ignore[override]
        return self.inner.can_shortlist

    @property
    def can_screen(self) -> bool:  # type: ignore[override]
        return self.inner.can_screen

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

    def _mark(self, name: str) -> int:
        """Create the first free ``marks/name.N`` and return its N. O_EXCL: two workers
        never get the same N."""
        n = 0
        while True:
            try:
                os.close(os.open(self.marks / f"{name}.{n}", os.O_CREAT | os.O_EXCL))
                return n
            except FileExistsError:
                n += 1

    def evaluate(
        self, arch: Architecture, seed: int, *, prune: StopRule | None = None
    ) -> EvalResult:
        attempt = self._mark(_stem(arch))
        # the order of its first attempt among all architectures', fixed as it starts
        order = self._mark("first") if attempt == 0 else None
        fate = self.fate(arch)
        if self.busy:
            end = time.perf_counter() + self.delay
            while time.perf_counter() < end:
                pass
        else:
            time.sleep(self.delay)
        if fate == "always" or (fate == "once" and attempt == 0):
            os.kill(os.getpid(), signal.SIGKILL)
        fault = self.plan.get(order) if order is not None else None
        if fault == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        if fault == "hang":
            time.sleep(24 * 3600)
        if fault in ("nan", "oom"):
            return _injected(self.inner, fault, arch, seed, prune)
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

    def screen(self, archs: Sequence[Architecture], proxy: str, *, seed: int) -> list[float]:
        return self.inner.screen(archs, proxy, seed=seed)

    def shared_weights(
        self, space: SearchSpace[Any], config: SharedTrainConfig, *, seed: int
    ) -> SharedWeights:
        return self.inner.shared_weights(space, config, seed=seed)


def _stem(arch: Architecture | str) -> str:
    return hashlib.sha256(str(arch).encode()).hexdigest()[:16]


def _injected(
    inner: Any, fault: str, arch: Architecture, seed: int, prune: StopRule | None
) -> EvalResult:
    """``inner``'s own training of ``arch`` with a NaN loss or an allocator failure."""
    import torch

    if fault == "nan":
        train_config = inner.train_config
        inner.train_config = replace(train_config, learning_rate=1e30, max_restarts=0)
        try:
            return inner.evaluate(arch, seed, prune=prune)
        finally:
            inner.train_config = train_config

    def fail(*args: object, **kwargs: object) -> torch.Tensor:
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 TB")

    conv: Any = torch.nn.Conv2d
    forward, conv.forward = conv.forward, fail
    try:
        return inner.evaluate(arch, seed, prune=prune)
    finally:
        conv.forward = forward


#: The search ``check_kill_resume`` runs in a child process: fake evaluator, one worker.
def _drive(spec: dict[str, Any]) -> None:
    """One search of :func:`check_kill_resume`, in a process of its own."""
    from rlnas.config import SearchConfig
    from rlnas.evaluation.fake import FakeEvaluator
    from rlnas.search import run_search
    from rlnas.spaces import make_space

    classes = 50 if spec["space"] == "rnn-cell" else 10
    space = make_space(spec["space"], input_shape=(1, 8, 8), num_classes=classes)
    inner = FakeEvaluator(space, seed=1, noise=0.02)
    fake = FaultyEvaluator(inner, spec["marks"], delay=spec["delay"])
    run_search(SearchConfig(**spec["config"]), resume=spec["resume"], evaluator=fake)


def _joined(proc: Any) -> int:
    proc.join()
    return int(proc.exitcode)


def _drivers() -> Any:
    """Processes forked from a fork server that has torch loaded: a search starts in a
    fraction of a second, with no threads inherited from the caller."""
    from multiprocessing import get_all_start_methods, get_context

    from rlnas.executors.local import PRELOAD

    if "forkserver" not in get_all_start_methods():
        return get_context("spawn")
    ctx = get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


@dataclass(frozen=True)
class KillReport:
    """What :func:`check_kill_resume` did: kills that landed while the search ran, and
    the trials, shortlist scores and finals compared."""

    kills: int
    trials: int
    shortlisted: int
    finals: int


def _stored(run_dir: Path) -> tuple[Any, ...]:
    """Everything a run stores, less wall-clock times."""
    from rlnas.store import Store

    with Store(run_dir / "trials.db", readonly=True) as store:
        trials = [replace(t, created=0.0) for t in store.trials()]
        finals = [replace(f, seconds=0.0) for f in store.finals()]
        shortlist = {a: replace(s, seconds=0.0) for a, s in store.shortlist().items()}
        return trials, finals, shortlist, store.checkpoint()


def _same(a: Any, b: Any) -> bool:
    """Deep equality that also compares arrays and tensors (checkpoints hold both)."""
    import numpy as np

    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "detach"):  # a torch tensor
        a, b = a.detach().cpu().numpy(), b.detach().cpu().numpy()
    if isinstance(a, np.ndarray):
        x, y = a, b
        return x.shape == y.shape and x.dtype == y.dtype and bool(np.array_equal(x, y))
    return bool(a == b)


def _progress(db: Path) -> int:
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
            return sum(
                conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("trials", "shortlist", "finals")
            )
    except sqlite3.Error:
        return 0  # not created yet


def check_kill_resume(
    strategy: str,
    workdir: str | Path,
    *,
    space: str = "metaqnn",
    settings: dict[str, Any] | None = None,
    kills: int = 10,
    seed: int = 0,
    budget: int = 20,
    delay: float = 0.005,
    **config: Any,
) -> KillReport:
    """Run the search of ``strategy`` on the fake evaluator to the end; then run it again
    and SIGKILL it at ``kills`` seeded random moments (after a random number of stored
    trials, shortlist scores and finals, plus a random fraction of a trial), resuming
    after each; assert that the resumed run stored exactly what the uninterrupted one did,
    trial by trial (architecture, actions, reward, metrics, status), the shortlist, the
    finals and the strategy's checkpoint. ``config``: more :class:`SearchConfig` fields
    (e.g. ``shortlist=3, top_k=2``)."""
    import numpy as np

    workdir = Path(workdir)
    fields = {"strategy": strategy, "space": space, "budget": budget, "seed": seed,
              "strategy_settings": dict(settings or {}), **config}  # fmt: skip

    ctx = _drivers()

    def driver(run: str, resume: bool) -> Any:
        spec = {"space": space, "marks": str(workdir / f"marks-{run}"), "delay": delay,
                "resume": resume, "config": {**fields, "run_dir": str(workdir / run)}}  # fmt: skip
        proc = ctx.Process(target=_drive, args=(spec,), daemon=True)
        proc.start()
        return proc

    if _joined(driver("whole", False)) != 0:
        raise AssertionError(f"the uninterrupted {strategy} search failed")
    whole = _stored(workdir / "whole")
    units = len(whole[0]) + len(whole[1]) + len(whole[2])
    rng = np.random.default_rng(seed)
    targets = sorted(int(t) for t in rng.integers(0, units, size=kills))
    landed = 0
    for target in targets:
        proc = driver("killed", (workdir / "killed" / "trials.db").exists())
        while proc.is_alive() and _progress(workdir / "killed" / "trials.db") < target:
            time.sleep(0.002)
        time.sleep(float(rng.uniform(0, 3 * delay)))
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
            landed += 1
        proc.join()
    if _joined(driver("killed", (workdir / "killed" / "trials.db").exists())) != 0:
        raise AssertionError(f"resuming the killed {strategy} search failed")
    killed = _stored(workdir / "killed")
    names = ("trials", "finals", "shortlist", "checkpoint")
    for name, a, b in zip(names, whole, killed, strict=True):
        if not _same(a, b):
            raise AssertionError(f"{strategy}: after {landed} kills the {name} differ")
    return KillReport(landed, len(whole[0]), len(whole[2]), len(whole[1]))
