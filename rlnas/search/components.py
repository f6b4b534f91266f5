"""From a :class:`SearchConfig` to the objects a search runs: the evaluator, the space, the
strategy, the reward and the executor. Every bad setting becomes a one-line
:class:`ConfigError` here, before anything is stored.
"""

from __future__ import annotations

import math
from typing import Any

from rlnas.config import ConfigError, SearchConfig, apply_settings
from rlnas.evaluation.base import Evaluator
from rlnas.evaluation.rewards import Reward, accuracy, make_reward, needs_latency
from rlnas.executors import Executor, make_executor
from rlnas.spaces import SearchSpace, make_space
from rlnas.spaces.metaqnn import PRESETS as METAQNN_PRESETS
from rlnas.strategies import OneShotStrategy, Strategy, make_strategy

__all__ = ["CUSTOM", "build_evaluator", "build_executor", "make_components"]

#: The stored ``reward`` of a run that used a function of the caller's.
CUSTOM = "custom:"


def build_evaluator(config: SearchConfig) -> Evaluator:
    """The evaluator that ``config`` describes: a table for ``tabular:NAME``, language
    models for ``ptb`` and ``text:PATH``, else training image classifiers."""
    from rlnas.data.text import is_text_dataset
    from rlnas.evaluation.tabular import TabularEvaluator

    if config.dataset.startswith("tabular:"):
        try:
            return TabularEvaluator(config.dataset.removeprefix("tabular:"))
        except ValueError as error:
            raise ConfigError(str(error)) from None
    if is_text_dataset(config.dataset):
        return _language_evaluator(config)
    return _image_evaluator(config)


def _image_evaluator(config: SearchConfig) -> Evaluator:
    from rlnas.evaluation.image import (
        FINAL_RECIPES,
        NOT_FLIP_SAFE,
        DataSpec,
        LatencySpec,
        TrainConfig,
        TrainingEvaluator,
        final_recipe,
    )

    data = DataSpec(
        config.dataset, config.data_dir, config.val_fraction, config.seed, subset=config.subset
    )
    split = data.load()
    side = min(split.input_shape[1:])
    if config.search_recipe not in FINAL_RECIPES:
        raise ConfigError(
            f"unknown search recipe {config.search_recipe!r}; choose one of "
            f"{', '.join(FINAL_RECIPES)}"
        )
    try:
        base = final_recipe(config.search_recipe, TrainConfig(epochs=config.epochs),
                            config.dataset, side)  # fmt: skip
        train = apply_settings(TrainConfig, base, config.train_settings, name="train",
                               exclude={"epochs"})  # fmt: skip
        recipe = final_recipe(config.final_recipe, train, config.dataset, side)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    final = apply_settings(TrainConfig, recipe, config.final_settings, name="final",
                           exclude={"epochs"})  # fmt: skip
    if final.test_flip and config.dataset.split("[")[0] in NOT_FLIP_SAFE:
        raise ConfigError(
            f"test_flip averages each test image with its mirror, but {config.dataset}'s "
            "classes do not survive a left-right flip; remove test_flip from [final]"
        )
    latency = None
    if config.latency or config.max_latency_ms is not None or _needs_latency(config):
        latency = LatencySpec(batch_size=config.latency_batch, threads=config.latency_threads)
    return TrainingEvaluator(
        data, train, device=config.device, threads=config.threads, latency=latency,
        split=split, final_config=final,
    )  # fmt: skip


def _language_evaluator(config: SearchConfig) -> Evaluator:
    """The evaluator of a search on a text data set (``ptb``, ``text:PATH``); a one-line
    :class:`ConfigError` for settings that make no sense for language models (latency,
    the image recipes)."""
    from rlnas.evaluation.text import LanguageModelEvaluator, LMTrainConfig, TextSpec

    if config.latency or config.max_latency_ms is not None or _needs_latency(config):
        raise ConfigError(
            "latency is measured for image models only; drop --latency, --max-latency-ms "
            "and latency rewards for text data sets"
        )
    if config.final_recipe != "search":
        raise ConfigError(
            f"--final-recipe {config.final_recipe} is for images; language models are "
            "retrained with the search recipe (change it in a [final] table)"
        )
    if config.search_recipe != "search":
        raise ConfigError(
            f"--search-recipe {config.search_recipe} is for images; language models train "
            "with their own recipe (change it in a [train] table)"
        )
    base = LMTrainConfig(epochs=config.epochs)
    train = apply_settings(LMTrainConfig, base, config.train_settings, name="train",
                           exclude={"epochs"})  # fmt: skip
    final = apply_settings(LMTrainConfig, train, config.final_settings, name="final",
                           exclude={"epochs"})  # fmt: skip
    spec = TextSpec(config.dataset, config.data_dir, config.val_fraction, config.subset)
    try:
        return LanguageModelEvaluator(
            spec, train, device=config.device, threads=config.threads, final_config=final,
            seed=config.seed,
        )  # fmt: skip
    except ValueError as error:
        if type(error) is not ValueError:  # DatasetError: already one clear line
            raise
        raise ConfigError(str(error)) from None


def _needs_latency(config: SearchConfig) -> bool:
    if config.reward.startswith(CUSTOM):
        return False  # a custom function says so itself; see run_search
    try:
        return needs_latency(make_reward(config.reward, latency_ms=config.max_latency_ms))
    except ValueError as error:
        raise ConfigError(str(error)) from None


def build_space(config: SearchConfig, evaluator: Evaluator) -> SearchSpace[Any]:
    """The space ``config`` describes (its hard limits included) for ``evaluator``'s data."""
    name = config.space or evaluator.space or "metaqnn"
    if evaluator.space is not None and name != evaluator.space:
        raise ConfigError(
            f"{config.dataset} covers the {evaluator.space} space only; "
            f"drop --space or pass --space {evaluator.space}"
        )
    overrides = dict(config.space_settings)
    if config.max_params is not None or config.max_flops is not None:
        if name not in METAQNN_PRESETS:
            raise ConfigError(
                f"--max-params and --max-flops are enforced by the metaqnn spaces only, not "
                f"by {name}; use --reward penalized:params=N instead"
            )
        build = config.train_settings.get("build", {})
        overrides.update(
            max_params=config.max_params,
            max_flops=config.max_flops,
            batch_norm=bool(build.get("batch_norm", False)),
        )
    try:
        return make_space(
            name, input_shape=evaluator.input_shape, num_classes=evaluator.num_classes,
            overrides=overrides,
        )  # fmt: skip
    except ValueError as error:
        raise ConfigError(str(error)) from None


def make_components(
    config: SearchConfig, evaluator: Evaluator
) -> tuple[SearchSpace[Any], Strategy, Reward]:
    """The space, strategy (shared weights attached for one-shot strategies) and reward
    ``config`` describes for ``evaluator``'s data; ``ConfigError`` for bad settings."""
    _check_capabilities(config, evaluator)
    space = build_space(config, evaluator)
    try:
        _check_modality(config, space, evaluator)
        strategy = make_strategy(
            config.strategy, space, budget=strategy_budget(config), seed=config.seed,
            **config.strategy_settings,
        )  # fmt: skip
        if isinstance(strategy, OneShotStrategy):  # ENAS: give it shared weights, not data
            wanted = strategy.shared_config
            strategy.attach(evaluator.shared_weights(space, wanted, seed=config.seed))
        reward = (
            make_reward(config.reward, latency_ms=config.max_latency_ms)
            if not config.reward.startswith(CUSTOM)
            else accuracy  # replaced by the caller's function
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return space, strategy, reward


def _check_capabilities(config: SearchConfig, evaluator: Evaluator) -> None:
    """What the config asks beyond training, the evaluator must declare it can do."""
    if config.screen > 1 and not evaluator.can_screen:
        raise ConfigError(
            f"{type(evaluator).__name__} cannot screen architectures (it builds no "
            "networks); run without --screen"
        )
    if config.shortlist and not evaluator.can_shortlist:
        raise ConfigError(
            f"{type(evaluator).__name__} cannot re-rank a shortlist; run without shortlist"
        )


def strategy_budget(config: SearchConfig) -> int:
    """The models a strategy should expect to see (its schedules are spread over them): the
    budget, or with rungs the models it pays for when each costs what ASHA's expected
    trial costs (a share of a full training)."""
    if config.min_epochs is None:
        return config.budget
    from rlnas.search.rungs import Rungs

    rungs = Rungs.of(min_epochs=config.min_epochs, epochs=config.epochs, eta=config.eta)
    return math.ceil(config.budget / rungs.expected_cost())


def build_executor(config: SearchConfig, evaluator: Evaluator) -> Executor:
    """The executor ``config`` describes, its workers holding copies of ``evaluator``."""
    return make_executor(
        config.executor_name, evaluator, workers=config.workers, threads=config.threads,
        device=config.device, ray_address=config.ray_address,
        cpus_per_trial=config.cpus_per_trial, gpus_per_trial=config.gpus_per_trial,
    )  # fmt: skip


#: What to pass instead, when a space's models do not take the data set's kind of data.
_DATA_FOR = {
    "text": "a text data set: --dataset ptb --data-dir DIR, or --dataset text:FILE",
    "image": "an image data set (e.g. --dataset digits), or a space for that data",
}


def _check_modality(config: SearchConfig, space: SearchSpace[Any], evaluator: Evaluator) -> None:
    if evaluator.modality is not None and space.modality != evaluator.modality:
        raise ConfigError(
            f"the {space.name} space builds models of {space.modality} data but "
            f"{config.dataset} is {evaluator.modality} data; use "
            f"{_DATA_FOR.get(space.modality, 'a matching data set')}"
        )
