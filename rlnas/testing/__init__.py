"""Test helpers that ship with the package, for tests of rlnas and of your own plug-ins.

- Conformance suites: :func:`check_space`, :func:`check_strategy`, :func:`check_store`,
  :func:`check_executor`: run the one for what you add; every registered space,
  strategy, store and executor passes them in rlnas's own tests.
- Fault injection: :class:`FaultyEvaluator` (slow trials, killed workers, NaN losses,
  out-of-memory errors, hung trials) and :func:`check_kill_resume` (SIGKILL at random
  moments, resume, compare with the uninterrupted run).
- :class:`FakeEvaluator` (a known optimum, instant); a tiny real run on images the helper
  writes; generated text corpora.
"""

import importlib
from typing import TYPE_CHECKING, Any

# Loaded when first used, so that a helper that needs no torch (the fake evaluator, the
# fault-injection driver) starts a process in a fraction of a second.
_LAZY = {
    "FakeEvaluator": "rlnas.evaluation.fake",
    "FakeSharedWeights": "rlnas.evaluation.fake",
    "check_executor": "rlnas.testing.executors",
    "FaultyEvaluator": "rlnas.testing.faults",
    "KillReport": "rlnas.testing.faults",
    "check_kill_resume": "rlnas.testing.faults",
    "tiny_image_run": "rlnas.testing.runs",
    "write_image_folder": "rlnas.testing.runs",
    "check_space": "rlnas.testing.spaces",
    "check_store": "rlnas.testing.stores",
    "check_strategy": "rlnas.testing.strategies",
    "write_ptb": "rlnas.testing.text",
    "write_text": "rlnas.testing.text",
}

if TYPE_CHECKING:
    from rlnas.evaluation.fake import FakeEvaluator, FakeSharedWeights
    from rlnas.testing.executors import check_executor
    from rlnas.testing.faults import FaultyEvaluator, KillReport, check_kill_resume
    from rlnas.testing.runs import tiny_image_run, write_image_folder
    from rlnas.testing.spaces import check_space
    from rlnas.testing.stores import check_store
    from rlnas.testing.strategies import check_strategy
    from rlnas.testing.text import write_ptb, write_text


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rlnas.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "FakeEvaluator",
    "FakeSharedWeights",
    "FaultyEvaluator",
    "KillReport",
    "check_executor",
    "check_kill_resume",
    "check_space",
    "check_store",
    "check_strategy",
    "tiny_image_run",
    "write_image_folder",
    "write_ptb",
    "write_text",
]
