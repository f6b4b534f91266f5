"""Image classifiers: MetaQNN's training recipe, the final recipes, the training evaluator
and shared weights (ENAS) on image data."""

from rlnas.evaluation.image.augment import augment_batch
from rlnas.evaluation.image.evaluator import DataSpec, LatencySpec, TrainingEvaluator
from rlnas.evaluation.image.shared import BatchOrder, SupernetWeights
from rlnas.evaluation.image.trainer import (
    FINAL_RECIPES,
    FLIP_SAFE,
    NOT_FLIP_SAFE,
    EpochHook,
    TrainConfig,
    TrainOutcome,
    evaluate_accuracy,
    final_recipe,
    train,
)

__all__ = [
    "FINAL_RECIPES",
    "FLIP_SAFE",
    "NOT_FLIP_SAFE",
    "BatchOrder",
    "DataSpec",
    "EpochHook",
    "LatencySpec",
    "SupernetWeights",
    "TrainConfig",
    "TrainOutcome",
    "TrainingEvaluator",
    "augment_batch",
    "evaluate_accuracy",
    "final_recipe",
    "train",
]
