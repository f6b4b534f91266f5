"""Trials as Ray tasks with declared resources; the evaluator in the object store once."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from rlnas.executors.base import Executor, ExecutorError, WorkerLost

__all__ = ["RayExecutor", "import_ray"]

T = TypeVar("T")


def import_ray() -> Any:
    """The ``ray`` module, or a :class:`ExecutorError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ExecutorError(
            "--executor ray needs Ray, which is not installed: pip install 'rlnas[ray]'"
        ) from None
    return ray


#: Per Ray worker process: the resident of the object-store entry it was last given.
_RAY_RESIDENT: dict[str, Any] = {}


def _ray_call(
    boxed: list[Any],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    threads: int,
) -> Any:
    """The Ray task. ``boxed`` holds the resident's object reference inside a list so that
    Ray does not fetch and unpickle it for every task: a worker process does it once."""
    import ray
    import torch

    key = boxed[0].hex()
    resident = _RAY_RESIDENT.get(key)
    if resident is None:
        _RAY_RESIDENT.clear()
        resident = _RAY_RESIDENT[key] = ray.get(boxed[0])
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return fn(resident, *args, **kwargs)


class RayExecutor(Executor):
    """Calls run as Ray tasks declaring ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs.

    The resident is put into Ray's object store once (pass one that carries its data, e.g.
    :meth:`rlnas.evaluation.base.Evaluator.with_data`, so nodes without the data files can
    train); each worker process fetches it once. Ray's own task retries are off: a lost
    worker, node or an out-of-memory kill ends the future with :class:`WorkerLost`, and
    an exception of ``fn`` ends it with that exception. Connects to ``address`` (``auto``,
    ``HOST:PORT``), or starts a local cluster, unless Ray is already initialised; only a
    cluster it started is shut down with it.
    """

    name = "ray"

    def __init__(
        self,
        resident: Any,
        *,
        workers: int | None = None,
        address: str | None = None,
        cpus_per_trial: float = 1.0,
        gpus_per_trial: float = 0.0,
        threads: int | None = None,
    ) -> None:
        ray = import_ray()
        self._ray = ray
        self._owns_cluster = not ray.is_initialized()
        if self._owns_cluster:
            try:
                ray.init(
                    address=address, include_dashboard=False, log_to_driver=False,
                    logging_level=logging.WARNING,
                )  # fmt: skip
            except (ConnectionError, ValueError, RuntimeError) as error:
                raise ExecutorError(f"cannot reach the Ray cluster at {address}: {error}") from None
        resources = ray.cluster_resources()
        if workers is None:
            workers = int(resources.get("CPU", 1) // cpus_per_trial)
            if gpus_per_trial:
                workers = min(workers, int(resources.get("GPU", 0) // gpus_per_trial))
        self.workers = max(1, workers)
        self._threads = threads or max(1, int(cpus_per_trial))
        self._resident = ray.put(resident)
        self._remote = ray.remote(_ray_call).options(
            num_cpus=cpus_per_trial, num_gpus=gpus_per_trial, max_retries=0
        )
        self._refs: dict[Future[Any], Any] = {}
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if self._closed:
            raise RuntimeError("cannot submit to an executor that was shut down")
        ref = self._remote.remote([self._resident], fn, args, kwargs, self._threads)
        future: Future[T] = Future()
        future.set_running_or_notify_cancel()
        with self._lock:
            self._refs[future] = ref
        ref.future().add_done_callback(lambda done: self._settle(future, done))
        return future

    def _settle(self, future: Future[Any], done: Future[Any]) -> None:
        with self._lock:
            self._refs.pop(future, None)
        if future.done():
            return
        exceptions = self._ray.exceptions
        try:
            future.set_result(done.result())
        except exceptions.RayTaskError as error:  # fn raised: hand on its own exception
            cause = getattr(error, "cause", None)
            future.set_exception(cause if isinstance(cause, Exception) else error)
        except exceptions.RayError as error:  # the worker, its node or its memory is gone
            lines = str(error).strip().splitlines() or [type(error).__name__]
            future.set_exception(WorkerLost(f"Ray {type(error).__name__}: {lines[0]}"))
        except Exception as error:
            future.set_exception(error)

    def abandon(self, future: Future[Any]) -> bool:
        with self._lock:
            ref = self._refs.get(future)
        if ref is None:
            return False
        self._ray.cancel(ref, force=True)  # kills the worker process running the task
        if not future.done():
            future.set_exception(WorkerLost("Ray task cancelled"))
        return True

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        with self._lock:
            running = dict(self._refs)
        if wait:
            for future in running:
                with contextlib.suppress(Exception):
                    future.exception()
        else:
            for future, ref in running.items():
                self._ray.cancel(ref, force=True)
                if not future.done():
                    future.set_exception(WorkerLost("the executor was shut down"))
        if self._owns_cluster:
            self._ray.shutdown()
