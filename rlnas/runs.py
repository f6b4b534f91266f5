"""Reading finished runs and training single architectures: what `rlnas show` and
`rlnas train` call."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from rlnas.arch import parse
from rlnas.config import ConfigError, SearchConfig
from rlnas.evaluation.rewards import make_reward, needs_latency
from rlnas.search import leaderboard, trial_seed
from rlnas.store import FinalRecord, Store, TrialRecord

__all__ = [
    "Row",
    "TrainReport",
    "open_run",
    "pareto_front",
    "ranking",
    "rerank",
    "train_architecture",
]


@dataclass(frozen=True)
class Row:
    """One line of a run's leaderboard."""

    rank: int
    arch: str
    val_acc: float
    reward: float
    params: int
    flops: int
    seconds: float
    trial: int
    status: str
    test_acc: float | None
    latency_ms: float | None = None
    #: Language models: best validation perplexity, and test perplexity once retrained.
    val_ppl: float | None = None
    test_ppl: float | None = None


def open_run(run_dir: str | Path) -> tuple[dict[str, Any], list[TrialRecord], list[FinalRecord]]:
    """The stored config, trials and final scores of a run; ConfigError if there is none."""
    path = Path(run_dir) / "trials.db"
    if not path.is_file():
        raise ConfigError(f"{run_dir} is not a run directory (no trials.db in it)")
    with Store(path) as store:
        config = json.loads(store.get_meta("config") or "{}")
        return config, store.trials(), store.finals()


def rerank(trials: list[TrialRecord], reward: str, config: dict[str, Any]) -> list[TrialRecord]:
    """``trials`` with their rewards recomputed under the reward spec ``reward`` (raw
    metrics are stored, so nothing is retrained). ConfigError for a bad spec, or when the
    reward needs latencies the run did not measure."""
    try:
        fn = make_reward(reward, latency_ms=config.get("max_latency_ms"))
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if needs_latency(fn) and any(t.result.ok and t.result.latency_ms is None for t in trials):
        raise ConfigError(
            f"reward {reward!r} needs latencies, but this run did not measure them; "
            "search with --latency to re-rank by latency"
        )
    return [replace(t, reward=fn(t.result)) for t in trials]


def pareto_front(trials: list[TrialRecord]) -> list[TrialRecord]:
    """The successful architectures no other one beats on every axis: higher validation
    accuracy, fewer parameters and (when measured) lower latency. Best accuracy first.

    >>> from rlnas.evaluation.result import EvalResult, TrialStatus
    >>> def t(i, acc, params):
    ...     result = EvalResult(TrialStatus.OK, acc, 10, params)
    ...     return TrialRecord(i, f"a{i}", (), acc, result, True)
    >>> [x.arch for x in pareto_front([t(0, 0.9, 500), t(1, 0.8, 100), t(2, 0.85, 600)])]
    ['a0', 'a1']
    """

    def axes(t: TrialRecord) -> tuple[float, ...]:
        latency = t.result.latency_ms
        return (-t.result.val_acc, t.result.params, latency if latency is not None else 0.0)

    rows = [t for t in leaderboard(trials) if t.result.ok]
    front = [
        t
        for t in rows
        if not any(
            all(x <= y for x, y in zip(axes(o), axes(t), strict=True)) and axes(o) != axes(t)
            for o in rows
        )
    ]
    return sorted(front, key=lambda t: (-t.result.val_acc, t.result.params, t.id))


def ranking(trials: list[TrialRecord], finals: list[FinalRecord]) -> list[Row]:
    """The leaderboard: one row per architecture, the retrained ones first (in their
    final rank order), then best reward first."""
    tests = {f.arch: f.test_acc for f in finals}
    test_ppls = {f.arch: (f.result.get("metrics") or {}).get("test_ppl") for f in finals}
    return [
        Row(
            rank,
            t.arch,
            t.result.val_acc,
            t.reward,
            t.result.params,
            t.result.flops,
            t.result.seconds,
            t.id,
            t.result.status.value,
            tests.get(t.arch),
            t.result.latency_ms,
            t.result.extra.get("val_ppl"),
            test_ppls.get(t.arch),
        )
        for rank, t in enumerate(leaderboard(trials, finals), start=1)
    ]


def rows_to_json(rows: list[Row]) -> str:
    return json.dumps([asdict(r) for r in rows], indent=2)


@dataclass(frozen=True)
class TrainReport:
    arch: str
    #: Best validation accuracy (None after a final training: it trains on validation too).
    val_acc: float | None
    test_acc: float
    params: int
    flops: int
    seconds: float
    failed: str | None
    #: Epochs trained and the recipe (a ``TrainConfig`` as a dict).
    epochs: int
    recipe: dict[str, Any]


def train_architecture(arch_text: str, config: SearchConfig, *, final: bool = False) -> TrainReport:
    """Train one architecture as a search with ``config`` would, and test it.

    By default as a search trains a child (the train split, ``config.epochs`` of the
    ``[train]`` recipe), reporting its best validation accuracy; with ``final``, as a search
    retrains its best (train+validation, ``config.final_epochs`` of ``config.final_recipe``
    and the ``[final]`` table), so a hand-designed network can be compared with a search's
    result under the same recipe. Both report the test accuracy of the trained model.
    """
    from rlnas.components import build_evaluator
    from rlnas.evaluation.costs import count_flops, count_params
    from rlnas.evaluation.evaluator import TrainingEvaluator
    from rlnas.evaluation.trainer import evaluate_accuracy

    arch = parse(arch_text)
    evaluator = build_evaluator(config)
    if not isinstance(evaluator, TrainingEvaluator):
        raise ConfigError(
            f"rlnas train trains image classifiers; {config.dataset} is not an image data set"
        )
    if arch.num_classes != evaluator.num_classes:
        raise ConfigError(
            f"{arch_text} ends in {arch.num_classes} classes but {config.dataset} has "
            f"{evaluator.num_classes}; end it in SM({evaluator.num_classes})"
        )
    seed = trial_seed(config.seed, arch)
    shape, build = evaluator.input_shape, evaluator.train_config.build
    try:
        if final:
            params = count_params(arch, shape, evaluator.num_classes, build)
            flops = count_flops(arch, shape, evaluator.num_classes, build)
            score = evaluator.final(arch, seed, config.final_epochs)
            return TrainReport(
                str(arch), None, score.test_acc, params, flops, score.seconds, score.failed,
                score.epochs, score.recipe,
            )  # fmt: skip
        result, model = evaluator.train_model(arch, seed)
    except ValueError as error:  # the network cannot be built, e.g. a convolution after FC
        raise ConfigError(f"cannot build {arch_text}: {error}") from None
    s = evaluator.split
    test = evaluate_accuracy(model, s.x_test.to(evaluator.device), s.y_test.to(evaluator.device))
    return TrainReport(
        str(arch), result.val_acc, test, result.params, result.flops, result.seconds,
        result.error, result.epochs, evaluator.train_config.to_dict(),
    )  # fmt: skip
