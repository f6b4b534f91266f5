"""Jobs on an executor for the search loop: one per architecture, however many ask for it.

A proposal whose architecture is being trained joins that job instead of starting another;
when the job ends, its result answers every proposal that joined it, in the order they
were made (the first is the trial that trained it). A job whose worker died runs again,
with the same seed, up to ``max_retries`` times; then it ends as a failed result that
says why. The scheduler keeps no strategy and no store: the loop commits each answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass

from rlnas.arch import Architecture
from rlnas.evaluation.pruning import StopRule
from rlnas.executors import Executor, WorkerLost, evaluate_trial
from rlnas.results import EvalResult, TrialStatus
from rlnas.store import PendingTrial
from rlnas.strategies import Proposal

__all__ = ["MAX_OUT_PER_WORKER", "Job", "Scheduler"]

#: Proposals out at once, per worker, counting those that joined a job: a strategy that
#: keeps proposing architectures being trained waits for their results instead.
MAX_OUT_PER_WORKER = 8
#: With a timeout, how often the scheduler looks whether a submitted job has started.
POLL_SECONDS = 0.5

#: ``answer(proposal, result, new, info)``: commit one answered proposal.
Answer = Callable[[Proposal, EvalResult, bool, dict[str, float]], None]


@dataclass
class Job:
    """One architecture being trained and the proposals waiting for its result."""

    arch: Architecture
    seed: int
    prune: StopRule | None
    #: (order proposed, proposal); the first is the trial that trains it.
    waiting: list[tuple[int, Proposal]]
    future: Future[EvalResult] | None = None
    #: Workers lost while training it.
    attempts: int = 0
    #: When the scheduler first saw it running in a worker (``time.monotonic``; None
    #: before: a worker's start-up does not count); whether it passed the timeout, and
    #: was stopped then (an executor that cannot stop a job lets it run on).
    started: float | None = None
    overdue: bool = False
    timed_out: bool = False


class Scheduler:
    """Runs jobs on ``executor`` and hands each result to ``answer``."""

    def __init__(
        self, executor: Executor, *, max_retries: int, num_classes: int, answer: Answer,
        timeout: float | None = None,
    ) -> None:  # fmt: skip
        self.executor, self.max_retries = executor, max_retries
        self.num_classes, self.answer = num_classes, answer
        self.timeout = timeout
        self.jobs: dict[str, Job] = {}  # by architecture, in the order they started

    def has_room(self) -> bool:
        """A worker is free, and not too many proposals wait for the busy ones."""
        workers = self.executor.workers
        out = sum(len(job.waiting) for job in self.jobs.values())
        return len(self.jobs) < workers and out < MAX_OUT_PER_WORKER * workers

    def join(self, seq: int, proposal: Proposal) -> bool:
        """Attach ``proposal`` to the job training its architecture, if there is one."""
        job = self.jobs.get(str(proposal.architecture))
        if job is not None:
            job.waiting.append((seq, proposal))
        return job is not None

    def start(
        self, seq: int, proposal: Proposal, seed: int, prune: StopRule | None, attempts: int = 0
    ) -> None:
        """Train ``proposal``'s architecture with ``seed`` (``attempts``: workers already
        lost on it, when a resumed run starts it again)."""
        job = Job(proposal.architecture, seed, prune, [(seq, proposal)], attempts=attempts)
        self.jobs[str(proposal.architecture)] = job
        self._submit(job)

    def _submit(self, job: Job) -> None:
        job.started, job.overdue = None, False
        job.future = self.executor.submit(evaluate_trial, job.arch, job.seed, job.prune)

    def wait(self) -> set[Future[EvalResult]]:
        """Block until at least one job ends (KeyboardInterrupt passes through); stop the
        jobs that run past the timeout (their worker is killed: they end at once)."""
        while True:
            futures = [job.future for job in self.jobs.values() if job.future is not None]
            timeout = self.timeout
            watched = [
                (job, job.future)
                for job in self.jobs.values()
                if timeout is not None and not job.overdue and job.future is not None
            ]
            left = None
            if timeout is not None and watched:
                now = time.monotonic()
                for job, future in watched:
                    if job.started is None and future.running():
                        job.started = now
                ends = [job.started + timeout for job, _ in watched if job.started is not None]
                if len(ends) < len(watched):  # look again soon for the jobs yet to start
                    ends.append(now + POLL_SECONDS)
                left = max(min(ends) - now, 0.0)
            done = wait(futures, timeout=left, return_when=FIRST_COMPLETED)[0]
            if done:
                return done
            for job, future in watched:
                if job.started is not None and time.monotonic() - job.started >= (timeout or 0):
                    job.overdue = True
                    job.timed_out = self.executor.abandon(future)

    def settle(self, done: set[Future[EvalResult]]) -> None:
        """Answer the proposals of the jobs in ``done``, or run a job again. A job's other
        proposals stay out (see :meth:`pending`) until each is answered."""
        for key, job in list(self.jobs.items()):
            if job.future not in done:
                continue
            try:
                result = job.future.result()
            except WorkerLost as lost:
                job.attempts += 1
                if not job.timed_out and job.attempts <= self.max_retries:
                    self._submit(job)  # same seed: the result does not depend on the retry
                    continue
                result = self.hung(job) if job.timed_out else self.lost(job, str(lost))
            new = True
            while job.waiting:
                _, proposal = job.waiting.pop(0)
                info = dict(proposal.info)
                if not new:
                    info["waited"] = 1.0  # answered by a training already running
                elif job.attempts:
                    info["worker_lost"] = float(job.attempts)
                self.answer(proposal, result, new, info)
                new = False
            del self.jobs[key]

    def lost(self, job: Job, reason: str) -> EvalResult:
        """The failed result of a job whose workers died ``max_retries + 1`` times."""
        return EvalResult(
            TrialStatus.FAILED, val_acc=1.0 / self.num_classes, num_classes=self.num_classes,
            error=f"worker lost {job.attempts} times (--max-retries {self.max_retries}); "
            f"last: {reason}",
            extra={"worker_lost": job.attempts},
        )  # fmt: skip

    def hung(self, job: Job) -> EvalResult:
        """The failed result of a job stopped at the timeout (its worker was killed)."""
        return EvalResult(
            TrialStatus.FAILED, val_acc=1.0 / self.num_classes, num_classes=self.num_classes,
            error=f"timed out after {self.timeout:g} s (--trial-timeout); its worker was stopped",
        )  # fmt: skip

    def pending(self) -> list[PendingTrial]:
        """Every proposal waiting for a job."""
        return [
            PendingTrial(seq, str(p.architecture), p.actions, dict(p.info), job.attempts)
            for job in self.jobs.values()
            for seq, p in job.waiting
        ]
