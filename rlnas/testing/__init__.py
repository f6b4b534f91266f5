"""Test helpers that ship with the package, for tests of rlnas and of your own plug-ins.

- Conformance suites: :func:`check_space`, :func:`check_strategy`, :func:`check_store`,
  :func:`check_executor`: run the one for what you add; every registered space,
  strategy, store and executor passes them in rlnas's own tests.
- :class:`FakeEvaluator` (a known optimum, instant) and :class:`FaultyEvaluator` (fails
  like a cluster); a tiny real run on images the helper writes; generated text corpora.
"""

from rlnas.evaluation.fake import FakeEvaluator, FakeSharedWeights
from rlnas.testing.executors import check_executor
from rlnas.testing.faults import FaultyEvaluator
from rlnas.testing.runs import tiny_image_run, write_image_folder
from rlnas.testing.spaces import check_space
from rlnas.testing.stores import check_store
from rlnas.testing.strategies import check_strategy
from rlnas.testing.text import write_ptb, write_text

__all__ = [
    "FakeEvaluator",
    "FakeSharedWeights",
    "FaultyEvaluator",
    "check_executor",
    "check_space",
    "check_store",
    "check_strategy",
    "tiny_image_run",
    "write_image_folder",
    "write_ptb",
    "write_text",
]
