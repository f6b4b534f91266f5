"""One architecture trained as a search would train it: what `rlnas train` calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rlnas.arch import parse
from rlnas.config import ConfigError, SearchConfig
from rlnas.results import trial_seed
from rlnas.search.components import build_evaluator, build_space

__all__ = ["TrainReport", "train_architecture"]


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
    #: Why the architecture is outside the search's space (None: it is inside).
    outside: str | None = None
    #: Other measurements of a final training (e.g. ``test_acc_one_pass`` with test_flip).
    metrics: dict[str, float] = field(default_factory=dict)


def train_architecture(arch_text: str, config: SearchConfig, *, final: bool = False) -> TrainReport:
    """Train one architecture as a search with ``config`` would, and test it.

    By default as a search trains a child (the train split, ``config.epochs`` of the
    ``[train]`` recipe), reporting its best validation accuracy; with ``final``, as a search
    retrains its best (train+validation, ``config.final_epochs`` of ``config.final_recipe``
    and the ``[final]`` table), so a hand-designed network can be compared with a search's
    result under the same recipe. Both report the test accuracy of the trained model.
    """
    from rlnas.evaluation.costs import count_flops, count_params
    from rlnas.evaluation.image import TrainingEvaluator, evaluate_accuracy

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
    try:  # a network outside the search's space still trains; the report says why it is
        build_space(config, evaluator).trajectory(arch)
        outside = None
    except ValueError as error:
        outside = str(error)
    seed = trial_seed(config.seed, arch)
    shape, build = evaluator.input_shape, evaluator.train_config.build
    try:
        count_params(arch, shape, evaluator.num_classes, build)  # can it be built at all?
    except ValueError as error:  # e.g. a convolution after FC
        raise ConfigError(f"cannot build {arch_text}: {error}") from None
    try:
        if final:
            params = count_params(arch, shape, evaluator.num_classes, build)
            flops = count_flops(arch, shape, evaluator.num_classes, build)
            score = evaluator.final(arch, seed, config.final_epochs)
            return TrainReport(
                str(arch), None, score.test_acc, params, flops, score.seconds, score.failed,
                score.epochs, score.recipe, outside, dict(score.metrics),
            )  # fmt: skip
        result, model = evaluator.train_model(arch, seed)
    except (ValueError, RuntimeError, OverflowError, MemoryError) as error:
        # the network cannot be built (a convolution after FC) or not held in memory
        raise ConfigError(f"cannot build {arch_text}: {str(error).splitlines()[0]}") from None
    s = evaluator.split
    test = evaluate_accuracy(model, s.x_test.to(evaluator.device), s.y_test.to(evaluator.device))
    return TrainReport(
        str(arch), result.val_acc, test, result.params, result.flops, result.seconds,
        result.error, result.epochs, evaluator.train_config.to_dict(), outside,
    )  # fmt: skip
