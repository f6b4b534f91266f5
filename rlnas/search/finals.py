"""After the search: re-rank a shortlist, then retrain the top-k and score them on test.

Both run on the executor's workers, at most one job per worker in flight, and each
answer is stored as it arrives, so a resumed run re-trains nothing already done.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any, TypeVar

from rlnas.arch import parse
from rlnas.config import SearchConfig
from rlnas.executors import Executor, WorkerLost, final_trial, shortlist_trial
from rlnas.results import FinalScore, ShortlistScore, trial_seed
from rlnas.runs import leaderboard, model_id
from rlnas.search.monitor import Monitor
from rlnas.store import FinalRecord, Store, TrialRecord

__all__ = ["Finals"]

K = TypeVar("K")
R = TypeVar("R")


class Finals:
    """The shortlist and final trainings of the search ``config`` describes, stored in
    ``store`` (weights under ``run_dir/models``), run on ``executor``."""

    def __init__(
        self, config: SearchConfig, store: Store, executor: Executor, monitor: Monitor,
        run_dir: Path,
    ) -> None:  # fmt: skip
        self.config, self.store, self.executor = config, store, executor
        self.monitor, self.run_dir = monitor, run_dir

    def run(self, trials: list[TrialRecord]) -> None:
        """Choose the top-k (the shortlist's best when ``config.shortlist``, else the
        search's), retrain them on train+validation and score them on test, on the
        executor's workers; each record is stored as it arrives, so resume skips it."""
        ranked = [t for t in leaderboard(trials) if t.result.ok]
        scores: dict[str, ShortlistScore] = {}
        if self.config.shortlist and self.config.top_k:
            ranked, scores = self.rank_shortlist(ranked[: self.config.shortlist])
        finalists = ranked[: self.config.top_k]
        self.monitor.on_final_start(len(finalists))
        done = {f.arch for f in self.store.finals()}
        epochs = self.config.final_epochs
        jobs = {
            rank: (parse(t.arch), trial_seed(self.config.seed, t.arch), epochs)
            for rank, t in enumerate(finalists, start=1)
            if t.arch not in done
        }

        def lost(error: str) -> tuple[FinalScore, None]:
            return FinalScore(0.0, epochs, 0.0, failed=error), None

        for rank, (score, weights) in self.run_all(final_trial, jobs, lost):
            trial = finalists[rank - 1]
            if weights is not None:
                path = self.run_dir / "models" / f"{model_id(trial.arch)}.pt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(weights)
            result = {"failed": score.failed, "train_loss": list(score.train_loss),
                      "recipe": score.recipe, "metrics": dict(score.metrics)}  # fmt: skip
            if trial.arch in scores:
                result["shortlist_acc"] = scores[trial.arch].val_acc
            record = FinalRecord(
                trial.arch, rank, trial.result.val_acc, score.test_acc, score.epochs,
                score.seconds, result,
            )  # fmt: skip
            self.store.add_final(record)
            self.monitor.on_final(record)

    def rank_shortlist(
        self, shortlist: list[TrialRecord]
    ) -> tuple[list[TrialRecord], dict[str, ShortlistScore]]:
        """Score each of ``shortlist`` by :meth:`Evaluator.shortlist_score` (stored scores
        are reused); the shortlist best first (ties: search order), and the scores."""
        scores = self.store.shortlist()
        epochs = self.config.shortlist_epochs
        self.monitor.on_shortlist_start(len(shortlist), epochs)
        jobs = {
            t.arch: (parse(t.arch), trial_seed(self.config.seed, t.arch), epochs)
            for t in shortlist
            if t.arch not in scores
        }

        def lost(error: str) -> ShortlistScore:
            return ShortlistScore(0.0, epochs, 0.0, failed=error)

        for arch, score in self.run_all(shortlist_trial, jobs, lost):
            self.store.add_shortlisted(arch, score)
            scores[arch] = score
            self.monitor.on_shortlisted(arch, score)
        order = sorted(range(len(shortlist)), key=lambda i: (-scores[shortlist[i].arch].val_acc, i))
        return [shortlist[i] for i in order], scores

    def threads_for(self, jobs: int) -> int | None:
        """Threads for a job started when ``jobs`` jobs are left: the threads of the idle
        workers too, when there are fewer jobs than workers (None: the worker's own)."""
        per_worker, workers = self.executor.threads, self.executor.workers
        if per_worker is None or jobs >= workers:
            return None
        return per_worker * workers // jobs

    def run_all(
        self, fn: Callable[..., R], jobs: dict[K, tuple[Any, ...]], lost: Callable[[str], R]
    ) -> Iterator[tuple[K, R]]:
        """Run ``fn(evaluator, *args)`` for the jobs in order on the executor, as many at
        once as it has workers; yield ``(key, answer)`` as each finishes (so the caller
        stores it before the next starts on an inline executor), ``lost(message)`` for a
        job whose worker died. ``fn``'s last argument: the threads to train on."""
        waiting = deque(jobs.items())
        running: dict[Future[R], K] = {}
        workers = max(self.executor.workers, 1)
        while waiting or running:
            while waiting and len(running) < workers:
                key, args = waiting.popleft()
                threads = self.threads_for(len(waiting) + len(running) + 1)
                running[self.executor.submit(fn, *args, threads)] = key
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in [f for f in running if f in done]:  # in submission order
                key = running.pop(future)
                try:
                    answer = future.result()
                except WorkerLost as error:
                    answer = lost(str(error))
                yield key, answer
