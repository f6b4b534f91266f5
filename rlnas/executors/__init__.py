"""Where trials run: inline in the driver, in a pool of local worker processes, or on Ray.

Every executor is shaped like :class:`concurrent.futures.Executor`: ``submit(fn, *args,
**kwargs)`` returns a :class:`~concurrent.futures.Future`, ``shutdown()`` ends it, and it
is a context manager. One difference keeps live objects out of workers: each worker holds
its own copy of a *resident* object (the evaluator), unpickled once when the worker starts,
and runs ``fn(resident, *args, **kwargs)``; ``fn`` and its arguments must pickle
(module-level functions, frozen dataclasses).

Contract (checked for every executor by :func:`rlnas.testing.check_executor`): a future ends
with ``fn``'s value, with the exception ``fn`` raised, or with :class:`WorkerLost` when the
process running it died (killed, out of memory, node lost); then nothing is known of the
call and it may be submitted again. Executors never retry by themselves: the search loop
decides (``--max-retries``). ``workers`` calls run at once; more are queued.

This module imports neither torch nor Ray at import time, and never the search loop.
"""

from __future__ import annotations

from typing import Any

from rlnas.executors.base import (
    Executor,
    ExecutorError,
    InlineExecutor,
    RemoteTraceback,
    WorkerLost,
    evaluate_trial,
    final_trial,
    shortlist_trial,
)
from rlnas.executors.cluster import RayExecutor, import_ray
from rlnas.executors.local import ProcessExecutor, assign_gpus, usable_cpus

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorError",
    "InlineExecutor",
    "ProcessExecutor",
    "RayExecutor",
    "RemoteTraceback",
    "WorkerLost",
    "assign_gpus",
    "evaluate_trial",
    "final_trial",
    "import_ray",
    "make_executor",
    "shortlist_trial",
    "usable_cpus",
]

#: ``--executor`` names.
EXECUTORS = ("inline", "process", "ray")


def make_executor(
    name: str,
    resident: Any,
    *,
    workers: int | None = None,
    threads: int | None = None,
    device: str = "auto",
    ray_address: str | None = None,
    cpus_per_trial: float = 1.0,
    gpus_per_trial: float = 0.0,
) -> Executor:
    """The executor ``name`` (``inline``, ``process`` or ``ray``) for ``resident``.

    ``process``: ``workers`` processes (default 1) with ``threads`` torch threads each
    (default: this machine's CPUs shared out among them); with ``device`` ``auto`` or
    ``cuda`` and local GPUs, worker i gets GPU i mod the GPU count. ``ray``: see
    :class:`RayExecutor`; the resident goes to the object store with its data.
    """
    if name == "inline":
        return InlineExecutor(resident)
    if name == "process":
        count = workers or 1
        return ProcessExecutor(
            resident, count, threads=threads or max(1, usable_cpus() // count),
            gpus=assign_gpus(count, _local_gpus(device)),
        )  # fmt: skip
    if name == "ray":
        carrier = resident.with_data() if hasattr(resident, "with_data") else resident
        return RayExecutor(
            carrier, workers=workers, address=ray_address, cpus_per_trial=cpus_per_trial,
            gpus_per_trial=gpus_per_trial, threads=threads,
        )  # fmt: skip
    raise ExecutorError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")


def _local_gpus(device: str) -> int:
    """GPUs to share out among local workers: only when the device names no GPU index."""
    if device not in ("auto", "cuda"):
        return 0
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0
