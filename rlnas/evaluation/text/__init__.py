"""Language models (recurrent cells): truncated-BPTT training, perplexity, the language
evaluator and shared weights (ENAS) on text."""

from rlnas.evaluation.text.evaluator import LanguageModelEvaluator, TextSpec
from rlnas.evaluation.text.shared import TEXT_SHARED_DEFAULTS, TextSharedWeights
from rlnas.evaluation.text.trainer import (
    LMOutcome,
    LMTrainConfig,
    batchify,
    detach_state,
    perplexity,
    train_lm,
)

__all__ = [
    "TEXT_SHARED_DEFAULTS",
    "LMOutcome",
    "LMTrainConfig",
    "LanguageModelEvaluator",
    "TextSharedWeights",
    "TextSpec",
    "batchify",
    "detach_state",
    "perplexity",
    "train_lm",
]
