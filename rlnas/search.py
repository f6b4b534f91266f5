"""The search loop: propose -> evaluate (or replay) -> reward -> observe -> store.

Every strategy shares this loop; a strategy file holds only its update rule. Each trial is
committed with the strategy's checkpoint in one transaction, so ``resume=True`` after a
kill continues exactly where the last commit left off, and the finished run equals one
never interrupted.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rlnas.arch import Architecture, parse
from rlnas.config import ConfigError, SearchConfig
from rlnas.evaluation.base import Evaluator
from rlnas.evaluation.pruning import PruneRule, make_rule
from rlnas.evaluation.rewards import make_reward
from rlnas.spaces import SearchSpace, make_space
from rlnas.store import FinalRecord, Store, TrialRecord
from rlnas.strategies import Feedback, OneShotStrategy, PhaseReport, Strategy, make_strategy

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
#: Settings that may differ when a run is resumed.
RESUMABLE = {"time_limit", "run_dir", "device", "threads", "data_dir"}


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


class Monitor:
    """Receives progress events; the CLI's live display subclasses it. Methods are no-ops."""

    def on_start(self, config: SearchConfig, status: SearchStatus) -> None: ...

    def on_trial(self, record: TrialRecord, status: SearchStatus) -> None: ...

    def on_phase(self, report: PhaseReport, status: SearchStatus) -> None: ...

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


def build_evaluator(config: SearchConfig) -> Evaluator:
    """The evaluator that ``config`` describes: a table for ``tabular:NAME``, else training."""
    from rlnas.evaluation.evaluator import DataSpec, LatencySpec, TrainingEvaluator
    from rlnas.evaluation.tabular import TabularEvaluator
    from rlnas.evaluation.trainer import TrainConfig
    from rlnas.nn import BuildOptions

    if config.dataset.startswith("tabular:"):
        try:
            return TabularEvaluator(config.dataset.removeprefix("tabular:"))
        except ValueError as error:
            raise ConfigError(str(error)) from None
    settings = dict(config.train_settings)
    build_settings = settings.pop("build", {})
    known = {f.name for f in fields(TrainConfig)} - {"build", "epochs"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(
            f"unknown [train] setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    try:
        if "betas" in settings:
            settings["betas"] = tuple(settings["betas"])
        train = TrainConfig(epochs=config.epochs, build=BuildOptions(**build_settings), **settings)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"invalid [train] settings: {error}") from None
    data = DataSpec(
        config.dataset, config.data_dir, config.val_fraction, config.seed, subset=config.subset
    )
    latency = None
    if config.latency or config.max_latency_ms is not None or _needs_latency(config.reward):
        latency = LatencySpec(batch_size=config.latency_batch, threads=config.latency_threads)
    return TrainingEvaluator(
        data, train, device=config.device, threads=config.threads, latency=latency
    )


def _needs_latency(reward: str) -> bool:
    try:
        return bool(getattr(make_reward(reward), "needs_latency", False))
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _make(config: SearchConfig, evaluator: Evaluator) -> tuple[SearchSpace[Any], Strategy]:
    name = config.space or evaluator.space or "metaqnn"
    if evaluator.space is not None and name != evaluator.space:
        raise ConfigError(
            f"{config.dataset} covers the {evaluator.space} space only; "
            f"drop --space or pass --space {evaluator.space}"
        )
    try:
        space = make_space(
            name,
            input_shape=evaluator.input_shape,
            num_classes=evaluator.num_classes,
            overrides=config.space_settings,
        )
        strategy = make_strategy(
            config.strategy, space, budget=config.budget, seed=config.seed,
            **config.strategy_settings,
        )  # fmt: skip
        if isinstance(strategy, OneShotStrategy):  # ENAS: give it shared weights, not data
            wanted = strategy.shared_config
            strategy.attach(evaluator.shared_weights(space, wanted, seed=config.seed))
        make_reward(config.reward)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return space, strategy


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
    for key, value in asdict(config).items():
        if key not in RESUMABLE and stored.get(key) != value:
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
) -> SearchSummary:
    """Run (or resume) the search ``config`` describes and retrain its top architectures.

    ``evaluator`` replaces the training evaluator (e.g. :class:`rlnas.testing.FakeEvaluator`).
    Raises :class:`ConfigError` for bad settings and for a run directory that already holds
    a search when ``resume`` is False; nothing stored is changed then.
    """
    monitor = monitor or Monitor()
    run_dir = Path(config.run_dir) if config.run_dir else default_run_dir(config)
    config = replace(config, run_dir=str(run_dir))
    with Store(run_dir / "trials.db") as store:
        _check_resumable(store, config, resume, run_dir)
        evaluator = evaluator or build_evaluator(config)
        space, strategy = _make(config, evaluator)
        if store.get_meta("config") is None:
            store.set_meta("config", config.to_json())
            store.set_meta("evaluator", evaluator.fingerprint)
            store.set_meta("space", json.dumps(space.config(), default=str))
            (run_dir / "config.json").write_text(config.to_json())
        return _Loop(config, store, evaluator, strategy, monitor, run_dir).run()


class _Loop:
    def __init__(
        self,
        config: SearchConfig,
        store: Store,
        evaluator: Evaluator,
        strategy: Strategy,
        monitor: Monitor,
        run_dir: Path,
    ) -> None:
        self.config, self.store, self.evaluator = config, store, evaluator
        self.strategy, self.monitor, self.run_dir = strategy, monitor, run_dir
        self.reward = make_reward(config.reward)
        self.fingerprint = evaluator.fingerprint
        self.cache = store.cache(self.fingerprint)
        self.trials = store.trials()
        checkpoint = store.checkpoint()
        if checkpoint is not None:
            strategy.load_state_dict(checkpoint[1])
        self.trained = sum(t.new for t in self.trials)
        self.start = time.perf_counter()
        self.train_seconds = 0.0
        self.best: TrialRecord | None = max(self.trials, key=lambda t: t.reward, default=None)

    def status(self, info: dict[str, float] | None = None) -> SearchStatus:
        return SearchStatus(
            trained=self.trained,
            budget=self.config.budget,
            trials=len(self.trials),
            best_reward=self.best.reward if self.best else None,
            best_arch=self.best.arch if self.best else None,
            elapsed=time.perf_counter() - self.start,
            info=info or {},
        )

    def run(self) -> SearchSummary:
        self.monitor.on_start(self.config, self.status())
        stopped = "interrupted"
        search_seconds = 0.0
        try:
            stopped = self.search()
            search_seconds = time.perf_counter() - self.start
            self.final_training()
        except KeyboardInterrupt:
            stopped = "interrupted"
        elapsed = time.perf_counter() - self.start
        summary = SearchSummary(
            self.run_dir, self.trials, self.store.finals(), stopped,
            elapsed, search_seconds or elapsed, self.train_seconds,
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
            if limit is not None and time.perf_counter() - self.start >= limit:
                return "time limit"
            report = self.strategy.phase_step()
            if report is None:
                return None
            self.store.save_checkpoint(self.strategy.state_dict(), trial_id=len(self.trials) - 1)
            self.monitor.on_phase(report, self.status(report.info))

    def search(self) -> str:
        limit = self.config.time_limit
        replays_in_a_row = 0
        stopped = self.shared_phase()
        if stopped is not None:
            return stopped
        while self.trained < self.config.budget:
            if limit is not None and time.perf_counter() - self.start >= limit:
                return "time limit"
            if replays_in_a_row >= MAX_REPLAYS_IN_A_ROW:
                return "converged"
            proposal = self.strategy.propose()
            key = str(proposal.architecture)
            result = self.cache.get(key)
            new = result is None
            if result is None:
                seed = trial_seed(self.config.seed, key)
                rule = self.prune_rule() if self.config.prune else None
                result = self.evaluator.evaluate(proposal.architecture, seed, prune=rule)
                self.cache[key] = result
                self.train_seconds += result.seconds
            reward = self.reward(result)
            self.strategy.observe(Feedback(proposal, reward, result, new))
            record = TrialRecord(
                len(self.trials), key, proposal.actions, reward, result, new,
                dict(proposal.info), time.time(),
            )  # fmt: skip
            self.store.add_trial(
                record, fingerprint=self.fingerprint, checkpoint=self.strategy.state_dict()
            )
            self.trials.append(record)
            self.trained += new
            replays_in_a_row = 0 if new else replays_in_a_row + 1
            if self.best is None or reward > self.best.reward:
                self.best = record
            self.monitor.on_trial(record, self.status(dict(proposal.info)))
        return "budget"

    def prune_rule(self) -> PruneRule | None:
        """The early-stopping rule from the curves of the successful trials so far."""
        curves = [t.result.val_curve for t in self.trials if t.new and t.result.ok]
        if not curves:
            return None
        epochs = max(len(c) for c in curves)
        return make_rule(curves, top_k=max(self.config.top_k, 1), epochs=epochs)

    def final_training(self) -> None:
        """Retrain the top-k architectures on train+validation and score them on test."""
        done = {f.arch for f in self.store.finals()}
        ranked = [t for t in leaderboard(self.trials) if t.result.ok][: self.config.top_k]
        self.monitor.on_final_start(len(ranked))
        for rank, trial in enumerate(ranked, start=1):
            if trial.arch in done:
                continue
            arch = parse(trial.arch)
            score = self.evaluator.final(
                arch, trial_seed(self.config.seed, trial.arch), self.config.final_epochs,
                save_to=self.run_dir / "models" / f"{model_id(trial.arch)}.pt",
            )  # fmt: skip
            record = FinalRecord(
                trial.arch, rank, trial.result.val_acc, score.test_acc, score.epochs,
                score.seconds, {"failed": score.failed, "train_loss": list(score.train_loss)},
            )  # fmt: skip
            self.store.add_final(record)
            self.monitor.on_final(record)


def leaderboard(trials: list[TrialRecord]) -> list[TrialRecord]:
    """One row per architecture (its first trial), best reward first, failures last."""
    first: dict[str, TrialRecord] = {}
    for trial in trials:
        if trial.arch not in first:
            first[trial.arch] = trial
    return sorted(first.values(), key=lambda t: (not t.result.ok, -t.reward, t.id))


def model_id(arch: str) -> str:
    """The file stem under ``RUN/models/`` of the final model of ``arch``."""
    return hashlib.sha256(arch.encode()).hexdigest()[:12]
