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

import json
import time
from collections import deque
from dataclasses import replace
from pathlib import Path

from rlnas.arch import parse
from rlnas.config import ConfigError, SearchConfig
from rlnas.evaluation.base import Evaluator
from rlnas.evaluation.pruning import PruneRule, StopRule, make_rule
from rlnas.evaluation.rewards import Reward, needs_latency
from rlnas.executors import Executor
from rlnas.results import EvalResult, TrialStatus, trial_seed
from rlnas.search.components import CUSTOM, build_evaluator, build_executor, make_components
from rlnas.search.finals import Finals
from rlnas.search.monitor import Monitor, SearchStatus, SearchSummary
from rlnas.search.resume import (
    SEARCH_SECONDS,
    check_resumable,
    default_run_dir,
    removed_unless_started,
    run_lock,
)
from rlnas.search.rungs import Ladder, Rungs
from rlnas.search.scheduler import Scheduler
from rlnas.store import PendingState, PendingTrial, Store, TrialRecord
from rlnas.strategies import Feedback, OneShotStrategy, Proposal, Strategy

__all__ = ["MAX_REPLAYS_IN_A_ROW", "run_search"]

#: Stop when this many proposals in a row were all replays: the strategy has converged.
MAX_REPLAYS_IN_A_ROW = 2000


def _ladder(config: SearchConfig, trials: list[TrialRecord]) -> Ladder | None:
    """The rungs of a multi-fidelity search, with the values its stored trials recorded."""
    if config.min_epochs is None:
        return None
    rungs = Rungs.of(min_epochs=config.min_epochs, epochs=config.epochs, eta=config.eta)
    ladder = Ladder(rungs, curve_stopping=config.curve_stopping)
    for trial in trials:
        if trial.new:
            ladder.record(trial.result)
    return ladder


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

    ``evaluator`` replaces the training evaluator (e.g.
    :class:`rlnas.evaluation.fake.FakeEvaluator`).
    ``reward`` is a function of your own, ``EvalResult -> float``, used instead of
    ``config.reward`` (stored as ``custom:<name>``; pass it again to resume; give it a
    ``needs_latency = True`` attribute to have latencies measured). ``executor`` replaces
    the one ``config`` describes (the caller then shuts it down; its workers must hold the
    same evaluator). Raises :class:`ConfigError` for bad settings and for a run directory
    that already holds a search when ``resume`` is False; nothing stored is changed then,
    and a run directory this call created is removed again.
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
    with removed_unless_started(run_dir), run_lock(run_dir), Store(run_dir / "trials.db") as store:
        check_resumable(store, config, resume, run_dir)
        evaluator = evaluator or build_evaluator(config)
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
        self.start = time.perf_counter()
        #: search seconds of earlier sessions: the time limit counts them too
        self.searched_before = float(store.get_meta(SEARCH_SECONDS) or 0.0)
        self.train_seconds = 0.0
        self.best: TrialRecord | None = max(self.trials, key=lambda t: t.reward, default=None)
        self.scheduler = Scheduler(
            executor, max_retries=config.max_retries, num_classes=evaluator.num_classes,
            answer=self.commit, timeout=config.trial_timeout,
        )  # fmt: skip
        # Proposals out at the last checkpoint: asked again first (the strategy that made
        # them is restored from that checkpoint, so it will not make them again).
        self.resumed = deque(store.pending()) if checkpoint is not None else deque()
        self.asked = max((p.seq + 1 for p in self.resumed), default=len(self.trials))
        self.replays_in_a_row = 0
        self.interrupted = 0
        self.ladder = _ladder(config, self.trials)
        #: the budget spent: models trained, or with rungs their epochs in full trainings
        self.trained = sum(self.cost(t.result) for t in self.trials if t.new)

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

    def time_share(self) -> float | None:
        """The share of the time limit spent so far (None: no time limit)."""
        limit = self.config.time_limit
        return None if limit is None else min(self.searched() / limit, 1.0)

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
            Finals(self.config, self.store, self.executor, self.monitor, self.run_dir).run(
                self.trials
            )
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
                if self.config.screen > 1:
                    self.screen()
                else:
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
        in_flight = len(self.scheduler.jobs) * self.cost(None)
        if self.trained + in_flight >= self.config.budget:
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
            seed = trial_seed(self.config.seed, key)
            self.scheduler.start(seq, proposal, seed, self.stop_rule(), attempts)

    def screen(self) -> None:
        """Ask the strategy for ``config.screen`` proposals; answer the known ones from the
        cache (or the job training them), train the one the zero-cost proxy scores best,
        and store the others as screened out (untrained, at chance accuracy, so that every
        proposal is observed once)."""
        first = self.asked
        proposals = [self.strategy.propose() for _ in range(self.config.screen)]

        def known(p: Proposal) -> bool:
            key = str(p.architecture)
            return key in self.cache or key in self.scheduler.jobs

        fresh = [i for i, p in enumerate(proposals) if not known(p)]
        scores = self.evaluator.screen(
            [proposals[i].architecture for i in fresh], self.config.screen_proxy,
            seed=self.config.seed,
        )  # fmt: skip
        score = dict(zip(fresh, scores, strict=True))
        chosen = max(fresh, key=lambda i: score[i], default=None)
        if chosen is not None:  # started first: it is pending at the commits below
            self.ask(first + chosen, proposals[chosen])
        for i, proposal in enumerate(proposals):
            if i == chosen:
                continue
            if known(proposal):  # a replay, or the chosen one proposed twice: it joins
                self.ask(first + i, proposal)
            else:
                info = {**proposal.info, "screened": 1.0}
                self.commit(proposal, self._screened_out(score[i]), False, info)
        self.asked = max(self.asked, first + len(proposals))

    def _screened_out(self, score: float) -> EvalResult:
        classes = self.evaluator.num_classes
        return EvalResult(
            TrialStatus.PRUNED, 1.0 / classes, classes,
            error=f"screened out by {self.config.screen_proxy} ({score:.4g})",
            extra={"screen_score": score},
        )  # fmt: skip

    def cost(self, result: EvalResult | None) -> float:
        """What training ``result`` spent of the budget: one model; with rungs, its epochs
        (at least one per try) as a share of a full training. None: a job in flight, which
        costs at least the first rung."""
        if self.ladder is None:
            return 1.0
        epochs = self.config.epochs
        if result is None:
            return self.ladder.rungs.milestones[0] / epochs
        return min(1.0, max(result.epochs, result.restarts + 1) / epochs)

    def stop_rule(self) -> StopRule | None:
        """The early-stopping rule a job started now runs under, if any."""
        if self.ladder is not None:
            return self.ladder.rule()
        return self.prune_rule() if self.config.prune else None

    def commit(
        self, proposal: Proposal, result: EvalResult, new: bool, info: dict[str, float]
    ) -> None:
        """Observe one answered proposal; store it with the checkpoint, atomically."""
        key = str(proposal.architecture)
        if new:
            self.cache[key] = result
            self.train_seconds += result.seconds
        if self.ladder is not None:  # judged at its fidelity: the strategy sees it corrected
            info = {**info, "rung": float(self.ladder.rung_of(result))}
            reward = self.reward(self.ladder.correct(result))
            if new:
                self.ladder.record(result)
        else:
            reward = self.reward(result)
        self.strategy.observe(Feedback(proposal, reward, result, new, self.time_share()))
        record = TrialRecord(
            len(self.trials), key, proposal.actions, reward, result, new, info, time.time()
        )
        self.store.add_trial(
            record, fingerprint=self.fingerprint, checkpoint=self.strategy.state_dict(),
            pending=self.pending(), meta=self.searched_meta(),
        )  # fmt: skip
        self.trials.append(record)
        self.trained += self.cost(result) if new else 0
        replay = not new and "screened" not in info
        self.replays_in_a_row = self.replays_in_a_row + 1 if replay else 0
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
