"""The executor conformance suite: every executor must pass :func:`check_executor`.

The calls it submits are module-level functions of this module, so that they pickle by
reference into any worker (local processes and Ray workers import ``rlnas``, not tests).
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import wait
from dataclasses import dataclass

from rlnas.executors import Executor, WorkerLost

__all__ = ["Resident", "check_executor", "crash", "die", "identify", "nap"]


@dataclass(frozen=True)
class Resident:
    """What the workers of an executor under test hold."""

    tag: str


@dataclass(frozen=True)
class Identity:
    tag: str
    pid: int
    threads: int
    value: int


def identify(resident: Resident, value: int) -> Identity:
    """Which resident and which process answered, with how many torch threads."""
    import torch

    return Identity(resident.tag, os.getpid(), torch.get_num_threads(), value)


def nap(resident: Resident, seconds: float) -> tuple[int, float, float]:
    """(pid, start, end) of a sleep on the worker."""
    start = time.time()
    time.sleep(seconds)
    return os.getpid(), start, time.time()


def crash(resident: Resident, message: str) -> None:
    raise ValueError(message)


def die(resident: Resident) -> None:
    """Kill the worker running this call, as the out-of-memory killer would."""
    os.kill(os.getpid(), signal.SIGKILL)


def check_executor(executor: Executor, tag: str) -> None:
    """Assert the executor contract; ``executor`` must hold ``Resident(tag)``.

    Values come back from the workers' own resident; an exception raised by a call comes
    back as itself; with two or more workers, calls overlap in time on different processes;
    on an isolated executor a worker that dies ends its call with :class:`WorkerLost`,
    other calls are unharmed, and the executor goes on working.
    """
    answers = [executor.submit(identify, i) for i in range(4)]
    values = [f.result(timeout=120) for f in answers]
    assert [v.value for v in values] == [0, 1, 2, 3], values
    assert {v.tag for v in values} == {tag}, values
    if executor.isolated:
        assert os.getpid() not in {v.pid for v in values}, "calls ran in the caller's process"

    failed = executor.submit(crash, "bad input")
    try:
        failed.result(timeout=120)
    except ValueError as error:
        assert str(error) == "bad input"
    else:
        raise AssertionError("a call's exception was not handed back")

    if executor.workers >= 2:
        naps = [executor.submit(nap, 1.0) for _ in range(2)]
        (pid_a, start_a, end_a), (pid_b, start_b, end_b) = (f.result(timeout=120) for f in naps)
        assert pid_a != pid_b, "two calls ran on one worker"
        assert start_b < end_a and start_a < end_b, "two workers did not run at once"

    if executor.isolated:
        survivor = executor.submit(nap, 0.5)
        doomed = executor.submit(die)
        wait([doomed], timeout=120)
        try:
            doomed.result()
        except WorkerLost:
            pass
        else:
            raise AssertionError("a dead worker's call did not end with WorkerLost")
        if executor.workers >= 2:
            survivor.result(timeout=120)  # the other worker's call is unharmed
        after = [executor.submit(identify, 10 + i) for i in range(executor.workers + 1)]
        assert [f.result(timeout=120).value for f in after] == list(
            range(10, 11 + executor.workers)
        )
