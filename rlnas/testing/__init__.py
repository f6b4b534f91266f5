"""Test helpers that ship with the package: a fake evaluator with a known optimum."""

from rlnas.testing.fake import FakeEvaluator, FakeSharedWeights

__all__ = ["FakeEvaluator", "FakeSharedWeights"]
