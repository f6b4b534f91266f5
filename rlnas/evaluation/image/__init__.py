"""Image classifiers: MetaQNN's training recipe, the final recipes, the training evaluator
and shared weights (ENAS) on image data."""

from rlnas.evaluation.image.evaluator import DataSpec, LatencySpec, TrainingEvaluator
from rlnas.evaluation.image.recipes import FINAL_RECIPES, FLIP_SAFE, augment_batch, final_recipe
from rlnas.evaluation.image.shared import BatchOrder, SupernetWeights
from rlnas.evaluation.image.trainer import (
    EpochHook,
    TrainConfig,
    TrainOutcome,
    evaluate_accuracy,
    train,
)

__all__ = [
    "FINAL_RECIPES",
    "FLIP_SAFE",
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
