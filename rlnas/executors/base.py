"""The executor contract, the inline executor, and what the search loop submits."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, TypeVar

__all__ = [
    "Executor",
    "ExecutorError",
    "InlineExecutor",
    "RemoteTraceback",
    "WorkerLost",
    "evaluate_trial",
    "final_trial",
    "shortlist_trial",
]

T = TypeVar("T")


class ExecutorError(ValueError):
    """An executor cannot be made as asked (an unknown name, Ray missing, a cluster out of
    reach); the message says how to fix it."""


class WorkerLost(RuntimeError):
    """The worker running a call died before answering; the message says how."""


class RemoteTraceback(Exception):
    """The formatted traceback of an exception raised in a worker (its ``__cause__``)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def evaluate_trial(evaluator: Any, arch: Any, seed: int, prune: Any = None) -> Any:
    """What the search loop submits: ``evaluator.evaluate(arch, seed, prune=prune)`` on the
    worker's own evaluator. Lives here, not in the loop, so workers never import it."""
    return evaluator.evaluate(arch, seed, prune=prune)


@contextmanager
def _threads(evaluator: Any, threads: int | None) -> Iterator[None]:
    """Let ``evaluator`` train on ``threads`` torch threads for one call (None: its own):
    a job that runs alone may use the cores of idle workers."""
    if threads is None or not hasattr(evaluator, "threads"):
        yield
        return
    import torch

    before, torch_before = evaluator.threads, torch.get_num_threads()
    evaluator.threads = threads
    try:
        yield
    finally:
        evaluator.threads = before
        torch.set_num_threads(torch_before)


def shortlist_trial(
    evaluator: Any, arch: Any, seed: int, epochs: int, threads: int | None = None
) -> Any:
    """What re-ranking a shortlist submits: ``evaluator.shortlist_score`` on the worker."""
    with _threads(evaluator, threads):
        return evaluator.shortlist_score(arch, seed, epochs)


def final_trial(
    evaluator: Any, arch: Any, seed: int, epochs: int, threads: int | None = None
) -> tuple[Any, bytes | None]:
    """What final training submits: ``evaluator.final`` on the worker, and the trained
    weights as the bytes of a ``torch.save`` file (None if nothing was saved), for the
    caller to write: a worker on another machine has another disk."""
    with TemporaryDirectory(prefix="rlnas-final-") as tmp, _threads(evaluator, threads):
        path = Path(tmp) / "model.pt"
        score = evaluator.final(arch, seed, epochs, save_to=path)
        return score, path.read_bytes() if path.exists() else None


class Executor(ABC):
    """Runs calls on the resident object of its workers; see the module docstring."""

    #: Registered name (``--executor``).
    name: str = ""
    #: Calls that run at once: the search loop keeps this many trials in flight.
    workers: int = 1
    #: True when calls run in other processes, so a dying call cannot take the caller down.
    isolated: bool = True
    #: Torch threads per worker, where the executor sets them (None: not known).
    threads: int | None = None

    @abstractmethod
    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Run ``fn(resident, *args, **kwargs)`` on a worker when one is free."""

    def abandon(self, future: Future[Any]) -> bool:
        """Stop the call of ``future`` now, killing its worker if it runs: the future then
        ends with :class:`WorkerLost` (for a hung trial, ``--trial-timeout``). False when
        the executor cannot (calls in the caller's own thread). Default: cannot."""
        return False

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:  # noqa: B027
        """Release the workers. ``wait``: let running calls finish first; otherwise stop
        them now (their futures end with :class:`WorkerLost`). ``cancel_futures``: cancel
        calls not yet started. Idempotent. Nothing to release by default."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=exc[0] is None, cancel_futures=exc[0] is not None)


class InlineExecutor(Executor):
    """Runs each call at once, in the caller's process and thread: the search as it always
    was (bit-identical trial stores), and the one place a live resident object is used."""

    name = "inline"
    isolated = False

    def __init__(self, resident: Any) -> None:
        self.resident = resident

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(self.resident, *args, **kwargs))
        except Exception as error:  # KeyboardInterrupt is not caught: Ctrl-C stops the caller
            future.set_exception(error)
        return future
