"""Test helpers that ship with the package: a fake evaluator with a known optimum, an
evaluator that fails like a cluster, and the executor conformance suite."""

from rlnas.testing.executors import check_executor
from rlnas.testing.fake import FakeEvaluator
from rlnas.testing.faults import FaultyEvaluator

__all__ = ["FakeEvaluator", "FaultyEvaluator", "check_executor"]
