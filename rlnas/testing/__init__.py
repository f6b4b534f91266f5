"""Test helpers that ship with the package: a fake evaluator with a known optimum, and a
tiny real run on images the helper writes."""

from rlnas.testing.fake import FakeEvaluator
from rlnas.testing.runs import tiny_image_run, write_image_folder

__all__ = ["FakeEvaluator", "tiny_image_run", "write_image_folder"]
