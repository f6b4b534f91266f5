"""The search loop: propose -> evaluate (or replay) -> reward -> observe -> store.

Every strategy and every executor share this loop; a strategy file holds only its update
rule. The strategy proposes whenever a worker is free, so with ``workers`` > 1 several
proposals are out at once (MetaQNN's server and clients); an architecture already being
trained is not trained twice, its result answers every proposal that asked for it. Each
answered proposal is a trial, committed in one transaction with the strategy's checkpoint
and the proposals still out. ``resume=True`` restores that checkpoint and runs those
proposals again before asking for new ones, so no proposal is lost or observed twice;
proposals made after the last commit are forgotten with the strategy state that made them
and proposed again. With the inline executor (one trial at a time, the default) nothing is
ever out at a commit, and the resumed run equals one never interrupted.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from rlnas.arch import Architecture, parse
from rlnas.components import CUSTOM, build_evaluator, build_executor, make_components
from rlnas.config import ConfigError, SearchConfig
from rlnas.evaluation.base import Evaluator
from rlnas.evaluation.pruning import PruneRule, make_rule
from rlnas.evaluation.result import EvalResult, FinalScore, ShortlistScore
from rlnas.evaluation.rewards import Reward, needs_latency
from rlnas.executors import Executor, WorkerLost, final_trial, shortlist_trial
from rlnas.scheduler import Scheduler
from rlnas.store import FinalRecord, PendingState, PendingTrial, Store, TrialRecord
from rlnas.strategies import (
    Feedback,
    OneShotStrategy,
    PhaseReport,
    Proposal,
    Strategy,
)

K = TypeVar("K")
R = TypeVar("R")

__all__ = [
    "Monitor",
    "SearchStatus",
    "SearchSummary",
    "build_evaluator",
    "default_run_dir",
    "run_search",
    "trial_seed",
]

#: Stop when this many proposals in a row were all replays: the strategy has converged.
MAX_REPLAYS_IN_A_ROW = 2000
#: ``meta`` key: the seconds searched so far, over every session (a resumed search gets
#: what is left of its time limit)
SEARCH_SECONDS = "search_seconds"
#: Settings that may differ when a run is resumed.
RESUMABLE = {"time_limit", "run_dir", "device", "threads", "data_dir"}
#: Where and how trials run: may change on resume too (results do not depend on it).
RESUMABLE |= {"executor", "workers", "ray_address", "cpus_per_trial", "gpus_per_trial"}
RESUMABLE |= {"max_retries"}
#: What happens after the search: may change on resume (to retrain more, or otherwise);
#: so may ``top_k`` unless ``prune`` uses it during the search.
AFTER_SEARCH = {"final_epochs", "final_recipe", "final_settings", "shortlist", "shortlist_epochs"}


@dataclass(frozen=True)
class SearchStatus:
    """Where a search stands, for progress displays."""

    trained: int
    budget: int
    trials: int
    best_reward: float | None
    best_arch: str | None
    elapsed: float
    info: dict[str, float] = field(default_factory=dict)
    #: Search seconds left under the time limit (counted over every session); None
    #: without one.
    time_left: float | None = None


@dataclass(frozen=True)
class SearchSummary:
    run_dir: Path
    trials: list[TrialRecord]
    finals: list[FinalRecord]
    #: Why the search stopped: budget, time limit, converged or interrupted.
    stopped: str
    #: Wall seconds of this invocation; of the search phase (final retraining excluded);
    #: and of the search phase, those spent training children.
    elapsed: float
    search_seconds: float
    train_seconds: float
    #: Proposals that were out (being trained) when the search was interrupted: stored as
    #: interrupted, run again by ``--resume``.
    interrupted: int = 0


class Monitor:
    """Receives progress events; the CLI's live display subclasses it. Methods are no-ops."""

    def on_start(self, config: SearchConfig, status: SearchStatus) -> None: ...

    def on_trial(self, record: TrialRecord, status: SearchStatus) -> None: ...

    def on_phase(self, report: PhaseReport, status: SearchStatus) -> None: ...

    def on_shortlist_start(self, count: int, epochs: int) -> None: ...

    def on_shortlisted(self, arch: str, score: ShortlistScore) -> None: ...

    def on_final_start(self, count: int) -> None: ...

    def on_final(self, record: FinalRecord) -> None: ...

    def on_end(self, summary: SearchSummary) -> None: ...


def default_run_dir(config: SearchConfig) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dataset = config.dataset.replace(":", "-").replace("/", "_")
    return Path("runs") / f"{dataset}-{config.strategy}-{stamp}"


def trial_seed(seed: int, arch: Architecture | str) -> int:
    """The training seed of ``arch`` in a run seeded ``seed``: independent of trial order
    and of which worker trains it."""
    digest = hashlib.sha256(f"{seed}|{arch}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _check_resumable(store: Store, config: SearchConfig, resume: bool, run_dir: Path) -> None:
    stored_text = store.get_meta("config")
    if stored_text is None:
        if resume:
            raise ConfigError(f"nothing to resume in {run_dir}: it holds no search")
        return
    if not resume:
        raise ConfigError(
            f"{run_dir} already holds a search; pass --resume to continue it "
            "or choose another --run-dir"
        )
    stored = json.loads(stored_text)
    free = RESUMABLE | AFTER_SEARCH | (set() if config.prune else {"top_k"})
    for key, value in asdict(config).items():
        if key not in free and stored.get(key) != value:
            raise ConfigError(
                f"cannot resume with {key}={value!r}: the run was started with "
                f"{key}={stored.get(key)!r}; drop the option or start a new --run-dir"
            )


def run_search(
    config: SearchConfig,
    *,
    resume: bool = False,
    evaluator: Evaluator | None = None,
    monitor: Monitor | None = None,
    reward: Reward | None = None,
    executor: Executor | None = None,
) -> SearchSummary:
    """Run (or resume) the search ``config`` describes and retrain its top architectures.

    ``evaluator`` replaces the training evaluator (e.g. :class:`rlnas.testing.FakeEvaluator`).
    ``reward`` is a function of your own, ``EvalResult -> float``, used instead of
    ``config.reward`` (stored as ``custom:<name>``; pass it again to resume; give it a
    ``needs_latency = True`` attribute to have latencies measured). ``executor`` replaces
    the one ``config`` describes (the caller then shuts it down; its workers must hold the
    same evaluator). Raises :class:`ConfigError` for bad settings and for a run directory
    that already holds a search when ``resume`` is False; nothing stored is changed then.
    """
    monitor = monitor or Monitor()
    run_dir = Path(config.run_dir) if config.run_dir else default_run_dir(config)
    config = replace(config, run_dir=str(run_dir))
    if reward is not None:
        name = getattr(reward, "__qualname__", type(reward).__qualname__)
        config = replace(
            config, reward=f"{CUSTOM}{name}", latency=config.latency or needs_latency(reward)
        )
    elif config.reward.startswith(CUSTOM):
        raise ConfigError(
            f"this run uses the custom reward {config.reward.removeprefix(CUSTOM)!r}; "
            "pass the function again: run_search(config, reward=fn)"
        )
    with Store(run_dir / "trials.db") as store:
        _check_resumable(store, config, resume, run_dir)
        evaluator = evaluator or build_evaluator(config)
        if config.shortlist and type(evaluator).shortlist_score is Evaluator.shortlist_score:
            raise ConfigError(
                f"{type(evaluator).__name__} cannot re-rank a shortlist (it trains nothing "
                "longer than the search did); run without shortlist"
            )
        space, strategy, made = make_components(config, evaluator)
        reward = reward or made
        owned = executor is None
        executor = executor or build_executor(config, evaluator)
        try:
            if store.get_meta("config") is None:
                store.set_meta("config", config.to_json())
                store.set_meta("evaluator", evaluator.fingerprint)
                store.set_meta("space", json.dumps(space.config(), default=str))
                store.set_meta("input_shape", json.dumps(list(evaluator.input_shape)))
                (run_dir / "config.json").write_text(config.to_json())
            loop = _Loop(config, store, evaluator, strategy, reward, monitor, run_dir, executor)
            return loop.run()
        finally:
            if owned:
                executor.shutdown(wait=False, cancel_futures=True)


class _Loop:
    def __init__(
        self,
        config: SearchConfig,
        store: Store,
        evaluator: Evaluator,
        strategy: Strategy,
        reward: Reward,
        monitor: Monitor,
        run_dir: Path,
        executor: Executor,
    ) -> None:
        self.config, self.store, self.evaluator = config, store, evaluator
        self.strategy, self.monitor, self.run_dir = strategy, monitor, run_dir
        self.executor = executor
        self.reward = reward
        self.fingerprint = evaluator.fingerprint
        self.cache = store.cache(self.fingerprint)
        self.trials = store.trials()
        checkpoint = store.checkpoint()
        if checkpoint is not None:
            strategy.load_state_dict(checkpoint[1])
        self.trained = sum(t.new for t in self.trials)
        self.start = time.perf_counter()
        #: search seconds of earlier sessions: the time limit counts them too
        self.searched_before = float(store.get_meta(SEARCH_SECONDS) or 0.0)
        self.train_seconds = 0.0
        self.best: TrialRecord | None = max(self.trials, key=lambda t: t.reward, default=None)
        self.scheduler = Scheduler(
            executor, max_retries=config.max_retries, num_classes=evaluator.num_classes,
            answer=self.commit,
        )  # fmt: skip
        # Proposals out at the last checkpoint: asked again first (the strategy that made
        # them is restored from that checkpoint, so it will not make them again).
        self.resumed = deque(store.pending()) if checkpoint is not None else deque()
        self.asked = max((p.seq + 1 for p in self.resumed), default=len(self.trials))
        self.replays_in_a_row = 0
        self.interrupted = 0

    def status(self, info: dict[str, float] | None = None) -> SearchStatus:
        limit = self.config.time_limit
        return SearchStatus(
            trained=self.trained,
            budget=self.config.budget,
            trials=len(self.trials),
            best_reward=self.best.reward if self.best else None,
            best_arch=self.best.arch if self.best else None,
            elapsed=time.perf_counter() - self.start,
            info=info or {},
            time_left=None if limit is None else max(limit - self.searched(), 0.0),
        )

    def searched(self) -> float:
        """Seconds searched so far, this session and those before it."""
        return self.searched_before + time.perf_counter() - self.start

    def searched_meta(self) -> dict[str, str]:
        return {SEARCH_SECONDS: repr(self.searched())}

    def run(self) -> SearchSummary:
        self.monitor.on_start(self.config, self.status())
        stopped = "interrupted"
        search_seconds = 0.0
        try:
            stopped = self.search()
            search_seconds = time.perf_counter() - self.start
            self.store.set_meta(SEARCH_SECONDS, repr(self.searched()))
            self.final_training()
        except KeyboardInterrupt:
            stopped = "interrupted"
        elapsed = time.perf_counter() - self.start
        summary = SearchSummary(
            self.run_dir, self.trials, self.store.finals(), stopped,
            elapsed, search_seconds or elapsed, self.train_seconds, self.interrupted,
        )  # fmt: skip
        self.monitor.on_end(summary)
        return summary

    def shared_phase(self) -> str | None:
        """Drive a one-shot strategy's weight-sharing phase, checkpointing after each step;
        the reason to stop searching, or None to go on to the trials."""
        if not isinstance(self.strategy, OneShotStrategy):
            return None
        limit = self.config.time_limit
        while True:
            if limit is not None and self.searched() >= limit:
                return "time limit"
            report = self.strategy.phase_step()
            if report is None:
                return None
            # no proposal is out during the phase: the checkpoint alone says where it stands
            checkpoint = self.strategy.state_dict()
            self.store.save_pending(
                [], checkpoint=checkpoint, trial_id=len(self.trials) - 1,
                meta=self.searched_meta(),
            )  # fmt: skip
            self.monitor.on_phase(report, self.status(report.info))

    def search(self) -> str:
        """Keep every worker busy until a stop condition; then drain the trials in flight.
        Returns why it stopped: budget, time limit or converged."""
        try:
            return self._search()
        except KeyboardInterrupt:
            if not self.interrupted:
                self.interrupted = self.store.interrupt_pending()
            raise

    def _search(self) -> str:
        stopped = self.shared_phase()
        if stopped is not None:
            return stopped
        while self.resumed:
            pending = self.resumed.popleft()
            proposal = Proposal(parse(pending.arch), pending.actions, pending.info)
            self.ask(pending.seq, proposal, attempts=pending.attempts)
        while True:
            stop = self.stop_reason()
            while stop is None and self.scheduler.has_room():
                self.ask(self.asked, self.strategy.propose())
                stop = self.stop_reason()
            if stop is not None and not self.scheduler.jobs:
                return stop
            try:
                done = self.scheduler.wait()
            except KeyboardInterrupt:
                self.save_interrupted()  # between strategy calls: a consistent moment
                raise
            self.scheduler.settle(done)

    def stop_reason(self) -> str | None:
        limit = self.config.time_limit
        if self.trained + len(self.scheduler.jobs) >= self.config.budget:
            return "budget"
        if limit is not None and self.searched() >= limit:
            return "time limit"
        if self.replays_in_a_row >= MAX_REPLAYS_IN_A_ROW:
            return "converged"
        return None

    def ask(self, seq: int, proposal: Proposal, *, attempts: int = 0) -> None:
        """Answer ``proposal`` from the cache, or from the job training its architecture,
        or start that job."""
        self.asked = max(self.asked, seq + 1)
        key = str(proposal.architecture)
        result = self.cache.get(key)
        if result is not None:
            self.commit(proposal, result, False, dict(proposal.info))
        elif not self.scheduler.join(seq, proposal):
            rule = self.prune_rule() if self.config.prune else None
            seed = trial_seed(self.config.seed, key)
            self.scheduler.start(seq, proposal, seed, rule, attempts)

    def commit(
        self, proposal: Proposal, result: EvalResult, new: bool, info: dict[str, float]
    ) -> None:
        """Observe one answered proposal; store it with the checkpoint, atomically."""
        key = str(proposal.architecture)
        if new:
            self.cache[key] = result
            self.train_seconds += result.seconds
        reward = self.reward(result)
        self.strategy.observe(Feedback(proposal, reward, result, new))
        record = TrialRecord(
            len(self.trials), key, proposal.actions, reward, result, new, info, time.time()
        )
        self.store.add_trial(
            record, fingerprint=self.fingerprint, checkpoint=self.strategy.state_dict(),
            pending=self.pending(), meta=self.searched_meta(),
        )  # fmt: skip
        self.trials.append(record)
        self.trained += new
        self.replays_in_a_row = 0 if new else self.replays_in_a_row + 1
        if self.best is None or reward > self.best.reward:
            self.best = record
        self.monitor.on_trial(record, self.status(dict(proposal.info)))

    def pending(self) -> list[PendingTrial]:
        """Every proposal out, in the order proposed: resumed ones not yet asked again,
        and those waiting for a job."""
        return sorted([*self.resumed, *self.scheduler.pending()], key=lambda p: p.seq)

    def save_interrupted(self) -> None:
        """Ctrl-C while waiting: store the strategy as it is now with every proposal out,
        marked interrupted, so that ``--resume`` runs them again."""
        pending = [replace(p, state=PendingState.INTERRUPTED) for p in self.pending()]
        self.store.save_pending(
            pending, checkpoint=self.strategy.state_dict(), trial_id=len(self.trials) - 1,
            meta=self.searched_meta(),
        )  # fmt: skip
        self.interrupted = len(pending)

    def prune_rule(self) -> PruneRule | None:
        """The early-stopping rule from the curves of the successful trials so far."""
        curves = [t.result.val_curve for t in self.trials if t.new and t.result.ok]
        if not curves:
            return None
        epochs = max(len(c) for c in curves)
        return make_rule(curves, top_k=max(self.config.top_k, 1), epochs=epochs)

    def final_training(self) -> None:
        """Choose the top-k (the shortlist's best when ``config.shortlist``, else the
        search's), retrain them on train+validation and score them on test, on the
        executor's workers; each record is stored as it arrives, so resume skips it."""
        ranked = [t for t in leaderboard(self.trials) if t.result.ok]
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

    def run_all(
        self, fn: Callable[..., R], jobs: dict[K, tuple[Any, ...]], lost: Callable[[str], R]
    ) -> Iterator[tuple[K, R]]:
        """Run ``fn(evaluator, *args)`` for the jobs in order on the executor, as many at
        once as it has workers; yield ``(key, answer)`` as each finishes (so the caller
        stores it before the next starts on an inline executor), ``lost(message)`` for a
        job whose worker died."""
        waiting = deque(jobs.items())
        running: dict[Future[R], K] = {}
        while waiting or running:
            while waiting and len(running) < max(self.executor.workers, 1):
                key, args = waiting.popleft()
                running[self.executor.submit(fn, *args)] = key
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in [f for f in running if f in done]:  # in submission order
                key = running.pop(future)
                try:
                    answer = future.result()
                except WorkerLost as error:
                    answer = lost(str(error))
                yield key, answer


def leaderboard(trials: list[TrialRecord], finals: Sequence[FinalRecord] = ()) -> list[TrialRecord]:
    """One row per architecture (its first trial): the ``finals`` first, in their rank
    order (the search's top-k, or a shortlist's after re-ranking), then the others best
    reward first, failures last."""
    first: dict[str, TrialRecord] = {}
    for trial in trials:
        if trial.arch not in first:
            first[trial.arch] = trial
    chosen = {f.arch: f.rank for f in finals}
    return sorted(
        first.values(),
        key=lambda t: (
            t.arch not in chosen,
            chosen.get(t.arch, 0),
            not t.result.ok,
            -t.reward,
            t.id,
        ),
    )


def model_id(arch: str) -> str:
    """The file stem under ``RUN/models/`` of the final model of ``arch``."""
    return hashlib.sha256(arch.encode()).hexdigest()[:12]
