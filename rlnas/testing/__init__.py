"""Test helpers that ship with the package: a fake evaluator with a known optimum, an
evaluator that fails like a cluster, the executor conformance suite, and a tiny real run on
images the helper writes."""

from rlnas.testing.executors import check_executor
from rlnas.testing.fake import FakeEvaluator, FakeSharedWeights
from rlnas.testing.faults import FaultyEvaluator
from rlnas.testing.runs import tiny_image_run, write_image_folder

__all__ = [
    "FakeEvaluator",
    "FakeSharedWeights",
    "FaultyEvaluator",
    "check_executor",
    "tiny_image_run",
    "write_image_folder",
]
