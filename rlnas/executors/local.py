"""Local worker processes: each with its own torch threads and GPU, surviving kills."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing import connection, get_all_start_methods, get_context
from typing import Any, TypeVar

from rlnas.executors.base import Executor, RemoteTraceback, WorkerLost

__all__ = ["MAX_FAILED_STARTS", "PRELOAD", "ProcessExecutor", "assign_gpus", "usable_cpus"]

T = TypeVar("T")

#: A local worker that dies this many times in a row before it is ready breaks the pool.
MAX_FAILED_STARTS = 3
#: Modules the fork server imports once, so that a worker starts in a fraction of a second:
#: torch (2.5 s) and torch._dynamo, which a process's first optimizer imports (2.2 s).
PRELOAD = ["torch", "torch._dynamo", "rlnas.executors.local"]


@dataclass(frozen=True)
class _WorkerSetup:
    """What a worker process gets when it starts: the pickled resident and its resources."""

    payload: bytes
    threads: int | None
    #: The one GPU this worker sees (``CUDA_VISIBLE_DEVICES``), or None to leave it alone.
    gpu: int | None


@dataclass
class _Call:
    future: Future[Any]
    message: bytes  # pickled (fn, args, kwargs)


class _Slot:
    """One worker process and the call it runs."""

    def __init__(self, index: int, gpu: int | None) -> None:
        self.index, self.gpu = index, gpu
        self.process: Any = None
        self.tasks: Any = None  # driver -> worker
        self.results: Any = None  # worker -> driver
        self.lifeline: Any = None  # never written: the worker exits when it closes
        self.call: _Call | None = None
        #: The worker has loaded its resident and said so.
        self.ready = False

    def close(self) -> None:
        for conn in (self.tasks, self.results, self.lifeline):
            if conn is not None:
                conn.close()


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def assign_gpus(workers: int, gpu_count: int) -> tuple[int | None, ...]:
    """The GPU of each local worker: round-robin over ``gpu_count`` GPUs, one trial per GPU
    when there are as many workers as GPUs; None everywhere on a machine without GPUs.

    >>> assign_gpus(3, 2), assign_gpus(2, 0)
    ((0, 1, 0), (None, None))
    """
    return tuple(i % gpu_count if gpu_count else None for i in range(workers))


class ProcessExecutor(Executor):
    """``workers`` local processes, each with its own torch thread count and (where GPUs
    exist) its own GPU, each holding a copy of the resident unpickled once at its start.

    A worker that dies is replaced at once and its call ends with :class:`WorkerLost`. The
    workers ignore SIGINT (Ctrl-C is the driver's to handle) and exit as soon as the driver
    dies, even by SIGKILL, through a pipe that only the driver holds open. Processes come
    from a fork server that has torch imported already (spawn where there is none), so a
    replacement starts in well under a second and no worker inherits the driver's threads.
    """

    name = "process"

    def __init__(
        self,
        resident: Any,
        workers: int,
        *,
        threads: int | None = None,
        gpus: tuple[int | None, ...] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.threads = threads
        self._payload = pickle.dumps(resident, protocol=pickle.HIGHEST_PROTOCOL)
        method = "forkserver" if "forkserver" in get_all_start_methods() else "spawn"
        self._ctx: Any = get_context(method)  # fork server or spawn: no inherited threads
        if method == "forkserver":
            self._ctx.set_forkserver_preload(PRELOAD)
        gpus = gpus or (None,) * workers
        self._slots = [_Slot(i, gpus[i % len(gpus)]) for i in range(workers)]
        self._queue: deque[_Call] = deque()
        self._lock = threading.RLock()
        self._closing = False
        self._failed_starts = 0  # in a row, over all workers
        self._broken: str | None = None
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)
        for slot in self._slots:
            self._start(slot)
        self._watcher = threading.Thread(target=self._watch, name="rlnas-workers", daemon=True)
        self._watcher.start()

    def pids(self) -> list[int]:
        """Process ids of the current workers."""
        with self._lock:
            return [slot.process.pid for slot in self._slots if slot.process is not None]

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        message = pickle.dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        future: Future[T] = Future()
        with self._lock:
            if self._closing:
                raise RuntimeError("cannot submit to an executor that was shut down")
            if self._broken:
                raise RuntimeError(self._broken)
            self._queue.append(_Call(future, message))
            self._dispatch()
        return future

    def abandon(self, future: Future[Any]) -> bool:
        with self._lock:
            for slot in self._slots:
                if slot.call is not None and slot.call.future is future:
                    if slot.process is not None:
                        slot.process.kill()  # the watcher sees it die and replaces it
                    return True
            for call in self._queue:  # not started yet: it simply never runs
                if call.future is future:
                    self._queue.remove(call)
                    call.future.set_exception(WorkerLost("stopped before it started"))
                    return True
        return False

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if self._closing:
                return
            if cancel_futures:
                while self._queue:
                    self._queue.popleft().future.cancel()
        if wait:
            for call in [c for c in self._running() if c is not None] + list(self._queue):
                with contextlib.suppress(Exception):
                    call.future.exception()  # waits; the outcome goes to whoever holds it
        with self._lock:
            self._closing = True
            self._wake_w.send_bytes(b"")
        self._watcher.join()
        with self._lock:
            for slot in self._slots:
                self._stop(slot, gently=slot.call is None)
                self._lose(slot, "the executor was shut down")
            for call in self._queue:
                call.future.cancel()
            self._queue.clear()
            self._wake_r.close()
            self._wake_w.close()

    # The watcher thread owns the slots' processes; everything else takes the lock.

    def _running(self) -> list[_Call | None]:
        with self._lock:
            return [slot.call for slot in self._slots]

    def _start(self, slot: _Slot) -> None:
        task_r, slot.tasks = self._ctx.Pipe(duplex=False)
        slot.results, result_w = self._ctx.Pipe(duplex=False)
        life_r, slot.lifeline = self._ctx.Pipe(duplex=False)
        setup = _WorkerSetup(self._payload, self.threads, slot.gpu)
        slot.process = self._ctx.Process(
            target=_worker_main,
            args=(setup, task_r, result_w, life_r),
            name=f"rlnas-worker-{slot.index}",
            daemon=True,
        )
        slot.process.start()
        for conn in (task_r, result_w, life_r):
            conn.close()  # the worker has its own copies; ours would hide its death

    def _stop(self, slot: _Slot, *, gently: bool) -> None:
        process = slot.process
        if process is None:
            return
        if gently:
            with contextlib.suppress(OSError):
                slot.tasks.send_bytes(b"")  # the empty message: finish
            process.join(timeout=5)
        if process.is_alive():
            process.kill()
        process.join(timeout=5)
        slot.close()
        slot.process = None

    def _lose(self, slot: _Slot, reason: str) -> None:
        call, slot.call = slot.call, None
        if call is not None and not call.future.done():
            call.future.set_exception(WorkerLost(reason))

    def _dispatch(self) -> None:
        if self._broken:
            return
        for slot in self._slots:
            if not self._queue:
                return
            if slot.call is not None or slot.process is None or not slot.ready:
                continue  # a call runs (its future "running") once a worker is up
            call = self._queue.popleft()
            # A call whose worker died while starting comes back already running.
            if not call.future.running() and not call.future.set_running_or_notify_cancel():
                continue
            slot.call = call
            with contextlib.suppress(OSError):  # the worker died: the watcher reports the call
                slot.tasks.send_bytes(call.message)

    def _watch(self) -> None:
        while True:
            with self._lock:
                if self._closing:
                    return
                live = [slot for slot in self._slots if slot.process is not None]
                results = {slot.results: slot for slot in live}
                deaths = {slot.process.sentinel: slot for slot in live}
            ready = connection.wait([self._wake_r, *results, *deaths])
            with self._lock:
                if self._closing:
                    return
                # Answers first: a worker may answer and then die; its answer counts.
                for conn in ready:
                    if conn in results:
                        self._answer(results[conn])
                for sentinel in ready:
                    if sentinel in deaths:
                        self._replace(deaths[sentinel])
                self._dispatch()

    def _answer(self, slot: _Slot) -> None:
        try:
            message = slot.results.recv_bytes()
            if not slot.ready:  # the first message says the worker is ready
                slot.ready, self._failed_starts = True, 0
                return
            ok, value, remote = pickle.loads(message)
        except (EOFError, OSError, pickle.UnpicklingError):
            return  # a broken answer: the worker is dying, its sentinel follows
        call, slot.call = slot.call, None
        if call is None or call.future.done():
            return
        if ok:
            call.future.set_result(value)
        else:
            value.__cause__ = RemoteTraceback(remote)
            call.future.set_exception(value)

    def _replace(self, slot: _Slot) -> None:
        process = slot.process
        process.join(timeout=5)
        code = process.exitcode
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        slot.close()
        slot.process = None
        if slot.ready:
            self._lose(slot, f"worker process {process.pid} {how} (out of memory, or killed)")
        else:  # died while starting: its call never ran
            self._failed_starts += 1
            if slot.call is not None:
                self._queue.appendleft(slot.call)
                slot.call = None
            if self._failed_starts >= MAX_FAILED_STARTS:
                self._break(f"worker processes cannot start: the last one {how}")
                return
        slot.ready = False
        self._start(slot)

    def _break(self, reason: str) -> None:
        """Workers cannot start (an error in the resident's unpickling is not this: it is
        reported by every call): fail every call rather than restart them forever."""
        self._broken = reason
        for call in self._queue:
            if not call.future.done():
                call.future.set_exception(RuntimeError(reason))
        self._queue.clear()
        for slot in self._slots:
            if slot.call is not None and not slot.call.future.done():
                slot.call.future.set_exception(RuntimeError(reason))
            slot.call = None


def _worker_main(setup: _WorkerSetup, tasks: Any, results: Any, lifeline: Any) -> None:
    """A worker process: load the resident once, then answer calls until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    threading.Thread(target=_exit_with_driver, args=(lifeline,), daemon=True).start()
    if setup.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(setup.gpu)  # before torch touches CUDA
    if setup.threads:
        import torch

        torch.set_num_threads(setup.threads)
    resident: Any = None
    setup_error: tuple[BaseException, str] | None = None
    try:
        resident = pickle.loads(setup.payload)
    except Exception as error:  # e.g. the data set is missing here: every call says so
        setup_error = (error, traceback.format_exc())
    results.send_bytes(b"ready")
    while True:
        try:
            message = tasks.recv_bytes()
        except (EOFError, OSError):
            return
        if not message:
            return
        try:
            if setup_error is not None:
                raise setup_error[0]
            fn, args, kwargs = pickle.loads(message)
            reply = (True, fn(resident, *args, **kwargs), "")
        except Exception as error:
            reply = (False, error, traceback.format_exc())
        results.send_bytes(_dumps_reply(reply))


def _dumps_reply(reply: tuple[bool, Any, str]) -> bytes:
    try:
        return pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # an unpicklable value or exception: say what it was
        ok, value, remote = reply
        what = f"{type(value).__name__}: {value}" if not ok else f"unpicklable result ({error})"
        return pickle.dumps((False, RuntimeError(what), remote or traceback.format_exc()))


def _exit_with_driver(lifeline: Any) -> None:
    with contextlib.suppress(EOFError, OSError):
        lifeline.recv_bytes()
    os._exit(0)  # the driver is gone (or done): nobody will read what we compute
