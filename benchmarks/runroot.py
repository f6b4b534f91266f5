"""Where a benchmark keeps its run directories: ``--keep DIR``, or a temporary directory
removed when the script exits (also after an error; not after SIGKILL)."""

from __future__ import annotations

import argparse
import atexit
import shutil
import tempfile
from pathlib import Path


def add_keep_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep", metavar="DIR", default=None,
        help="keep the run directories in DIR (default: a temporary directory, removed at exit)",
    )  # fmt: skip


def run_root(keep: str | None, prefix: str) -> Path:
    """``keep`` (created if need be), or a new temporary directory removed at exit."""
    if keep:
        root = Path(keep)
        root.mkdir(parents=True, exist_ok=True)
        return root
    root = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root
