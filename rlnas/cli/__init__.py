"""The `rlnas` command: :func:`main` parses the command line (:mod:`rlnas.cli.parser`) and
runs the subcommand (:mod:`rlnas.cli.commands`); the library never imports it.

Bad input prints one line saying what is wrong and how to fix it, and exits with code 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from rlnas.arch import ArchitectureSyntaxError
from rlnas.cli.commands import COMMANDS
from rlnas.cli.parser import UsageError, build_parser
from rlnas.config import ConfigError

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    # Torch's OpenMP threads spin while they wait for work: on 2 cores with one busy with
    # other work, that made 2 threads 1.39x slower than 1, and passive waiting 0.98x
    # (benchmarks/threads.py); on a quiet machine passive costs ~6%. Set before torch
    # loads (here and in every worker process); a user's own setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from rlnas.data import DatasetError
    from rlnas.executors import ExecutorError
    from rlnas.predict import ExportError
    from rlnas.store import StoreError

    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "budget", None) is not None and args.budget < 1:
            raise UsageError("--budget must be at least 1")
        return COMMANDS[args.command](args)
    except (
        UsageError, ConfigError, DatasetError, StoreError, ArchitectureSyntaxError, ExportError,
        ExecutorError,
    ) as error:  # fmt: skip
        print(f"rlnas: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rlnas: interrupted", file=sys.stderr)
        return 130
