"""From a :class:`SearchConfig` to the objects a search runs: the evaluator, the space, the
strategy, the reward and the executor. Every bad setting becomes a one-line
:class:`ConfigError` here, before anything is stored.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

from rlnas.config import ConfigError, SearchConfig
from rlnas.evaluation.base import Evaluator
from rlnas.evaluation.rewards import Reward, accuracy, make_reward, needs_latency
from rlnas.executors import Executor, make_executor
from rlnas.spaces import SearchSpace, make_space
from rlnas.spaces.metaqnn import PRESETS as METAQNN_PRESETS
from rlnas.strategies import OneShotStrategy, Strategy, make_strategy

if TYPE_CHECKING:
    from rlnas.evaluation.trainer import TrainConfig

__all__ = ["CUSTOM", "build_evaluator", "build_executor", "make_components"]

#: The stored ``reward`` of a run that used a function of the caller's.
CUSTOM = "custom:"


def build_evaluator(config: SearchConfig) -> Evaluator:
    """The evaluator that ``config`` describes: a table for ``tabular:NAME``, language
    models for ``ptb`` and ``text:PATH``, else training image classifiers."""
    from rlnas.evaluation.evaluator import DataSpec, LatencySpec, TrainingEvaluator
    from rlnas.evaluation.tabular import TabularEvaluator
    from rlnas.evaluation.trainer import TrainConfig, final_recipe

    if config.dataset.startswith("tabular:"):
        try:
            return TabularEvaluator(config.dataset.removeprefix("tabular:"))
        except ValueError as error:
            raise ConfigError(str(error)) from None
    from rlnas.data.text import is_text_dataset

    if is_text_dataset(config.dataset):  # ptb, text:PATH: language models
        from rlnas.evaluation.language import build_language_evaluator

        return build_language_evaluator(config)
    train = _train_config(config.train_settings, TrainConfig(epochs=config.epochs), "train")
    data = DataSpec(
        config.dataset, config.data_dir, config.val_fraction, config.seed, subset=config.subset
    )
    split = data.load()
    try:
        recipe = final_recipe(
            config.final_recipe, train, config.dataset, min(split.input_shape[1:])
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    final = _train_config(config.final_settings, recipe, "final")
    latency = None
    if config.latency or config.max_latency_ms is not None or _needs_latency(config):
        latency = LatencySpec(batch_size=config.latency_batch, threads=config.latency_threads)
    return TrainingEvaluator(
        data, train, device=config.device, threads=config.threads, latency=latency,
        split=split, final_config=final,
    )  # fmt: skip


def _train_config(settings: dict[str, Any], base: TrainConfig, table: str) -> TrainConfig:
    """``base`` with the settings of a ``[train]`` or ``[final]`` table applied."""
    from rlnas.evaluation.trainer import TrainConfig

    settings = dict(settings)
    build_settings = settings.pop("build", {})
    known = {f.name for f in fields(TrainConfig)} - {"build", "epochs"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(
            f"unknown [{table}] setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    try:
        if "betas" in settings:
            settings["betas"] = tuple(settings["betas"])
        build = replace(base.build, **build_settings)
        return replace(base, build=build, **settings)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"invalid [{table}] settings: {error}") from None


def _needs_latency(config: SearchConfig) -> bool:
    if config.reward.startswith(CUSTOM):
        return False  # a custom function says so itself; see run_search
    try:
        return needs_latency(make_reward(config.reward, latency_ms=config.max_latency_ms))
    except ValueError as error:
        raise ConfigError(str(error)) from None


def make_components(
    config: SearchConfig, evaluator: Evaluator
) -> tuple[SearchSpace[Any], Strategy, Reward]:
    """The space, strategy (shared weights attached for one-shot strategies) and reward
    ``config`` describes for ``evaluator``'s data; ``ConfigError`` for bad settings."""
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
        space = make_space(
            name,
            input_shape=evaluator.input_shape,
            num_classes=evaluator.num_classes,
            overrides=overrides,
        )
        _check_modality(config, space, evaluator)
        strategy = make_strategy(
            config.strategy, space, budget=config.budget, seed=config.seed,
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
