"""Test helpers that ship with the package: a fake evaluator with a known optimum, an
evaluator that fails like a cluster, the executor conformance suite, a tiny real run on
images the helper writes, and generated text corpora."""

from rlnas.testing.executors import check_executor
from rlnas.testing.fake import FakeEvaluator, FakeSharedWeights
from rlnas.testing.faults import FaultyEvaluator
from rlnas.testing.runs import tiny_image_run, write_image_folder
from rlnas.testing.text import write_ptb, write_text

__all__ = [
    "FakeEvaluator",
    "FakeSharedWeights",
    "FaultyEvaluator",
    "check_executor",
    "tiny_image_run",
    "write_image_folder",
    "write_ptb",
    "write_text",
]
