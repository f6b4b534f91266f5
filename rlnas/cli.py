"""The `rlnas` command. Thin: every subcommand calls a library function.

Bad input prints one line saying what is wrong and how to fix it, and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from rlnas.arch import ArchitectureSyntaxError
from rlnas.config import ConfigError, SearchConfig, load_config, parse_duration

__all__ = ["main"]


class UsageError(Exception):
    """A command-line mistake: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rlnas", description="Neural architecture search by reinforcement learning."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("search", help="search for an architecture (MetaQNN Q-learning by default)")
    s.add_argument("--config", help="TOML file with settings (flags override it)")
    s.add_argument(
        "--dataset",
        help="digits (default), mnist, fashion-mnist, cifar10, npz:PATH, folder:PATH, "
        "or tabular:digits-tiny (a pre-trained table: instant answers)",
    )
    s.add_argument("--data-dir", help="where to look for data-set files first")
    s.add_argument("--strategy", help="qlearning (default), evolution, random, reinforce or enas")
    s.add_argument(
        "--space",
        help="metaqnn (default, small data), metaqnn-paper, metaqnn-tiny or enas-macro "
        "(needed by --strategy enas)",
    )
    s.add_argument("--reward", help="accuracy (default)")
    s.add_argument("--budget", type=int, help="unique models to train (default 60)")
    s.add_argument("--time-limit", type=_duration, help="stop searching after e.g. 90s, 10m, 1h30m")
    s.add_argument("--epochs", type=int, help="epochs per child during the search (default 8)")
    s.add_argument("--final-epochs", type=int, help="epochs when retraining the top-k (default 20)")
    s.add_argument("--top-k", type=int, help="how many of the best to retrain and test (default 3)")
    s.add_argument("--seed", type=int, help="seed of everything (default 0)")
    s.add_argument("--subset", type=int, help="search on this many training images (stratified)")
    s.add_argument("--val-fraction", type=float, help="share of training data for validation (0.2)")
    s.add_argument("--max-params", type=int, help="hard limit: never build a larger model")
    s.add_argument("--max-flops", type=int, help="hard limit on multiply-adds per image")
    s.add_argument("--max-latency-ms", type=float, help="latency target of latency-aware rewards")
    s.add_argument(
        "--latency", action="store_const", const=True, help="measure every trial's latency"
    )
    s.add_argument("--latency-batch", type=int, help="batch of the second latency measurement (32)")
    s.add_argument("--latency-threads", type=int, help="threads while timing (1: single-thread)")
    s.add_argument(
        "--prune", action="store_const", const=True, help="stop trials that cannot reach the top-k"
    )
    s.add_argument("--device", help="auto (default), cpu, cuda, cuda:N or mps")
    s.add_argument("--threads", type=int, help="torch threads per trial")
    s.add_argument("--run-dir", help="run directory (default runs/<dataset>-<strategy>-<time>)")
    s.add_argument("--resume", action="store_true", help="continue the search in --run-dir")

    show = sub.add_parser("show", help="leaderboard of a run")
    show.add_argument("run", help="run directory")
    show.add_argument("--top", type=int, default=10, help="rows to show (default 10)")
    show.add_argument("--json", action="store_true", help="print JSON")

    t = sub.add_parser("train", help="train one architecture, print validation and test accuracy")
    t.add_argument("arch", help="e.g. '[C(32,3,1), P(2,2), FC(64), SM(10)]'")
    t.add_argument("--dataset", default="digits")
    t.add_argument("--data-dir")
    t.add_argument("--epochs", type=int, default=8)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto")

    d = sub.add_parser("datasets", help="which data sets are available and from where")
    d.add_argument("--data-dir")
    return parser


_SEARCH_FLAGS = (
    "dataset", "data_dir", "strategy", "space", "reward", "budget", "time_limit", "epochs",
    "final_epochs", "top_k", "seed", "val_fraction", "device", "threads", "run_dir",
    "max_params", "max_flops", "max_latency_ms", "latency", "latency_batch", "latency_threads",
    "prune", "subset",
)  # fmt: skip


def _search(args: argparse.Namespace) -> int:
    from rlnas.progress import ConsoleMonitor
    from rlnas.search import run_search

    values: dict[str, Any] = {}
    if args.resume:
        if not args.run_dir:
            raise UsageError("--resume needs --run-dir DIR, the run to continue")
        from rlnas.runs import open_run

        values = open_run(args.run_dir)[0]
    if args.config:
        values.update(load_config(args.config))
    values.update({k: getattr(args, k) for k in _SEARCH_FLAGS if getattr(args, k) is not None})
    config = SearchConfig.from_dict(values, source="options")
    summary = run_search(config, resume=args.resume, monitor=ConsoleMonitor())
    return 130 if summary.stopped == "interrupted" else 0


def _show(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from rlnas.runs import open_run, ranking, rows_to_json

    config, trials, finals = open_run(args.run)
    rows = ranking(trials, finals)[: args.top]
    if args.json:
        print(rows_to_json(rows))
        return 0
    table = Table(
        title=f"{args.run}: {len(trials)} trials, "
        f"{config.get('strategy')} on {config.get('dataset')}"
    )
    for name in (
        "rank",
        "architecture",
        "val acc",
        "test acc",
        "params",
        "FLOPs",
        "seconds",
        "status",
    ):
        table.add_column(name, justify="left" if name == "architecture" else "right")
    for r in rows:
        test = f"{r.test_acc:.4f}" if r.test_acc is not None else "-"
        table.add_row(
            str(r.rank), r.arch, f"{r.val_acc:.4f}", test, f"{r.params:,}", f"{r.flops:,}",
            f"{r.seconds:.1f}",
            r.status,
        )  # fmt: skip
    Console(width=max(120, Console().width)).print(table)
    return 0


def _train(args: argparse.Namespace) -> int:
    from rlnas.runs import train_architecture

    report = train_architecture(
        args.arch, args.dataset, data_dir=args.data_dir, epochs=args.epochs, seed=args.seed,
        device=args.device,
    )  # fmt: skip
    status = f"FAILED ({report.failed})" if report.failed else "ok"
    print(f"architecture {report.arch}")
    print(f"validation accuracy {report.val_acc:.4f}")
    print(f"test accuracy {report.test_acc:.4f}")
    print(f"params {report.params:,}  FLOPs {report.flops:,}  {report.seconds:.1f}s  {status}")
    return 0


def _datasets(args: argparse.Namespace) -> int:
    from rlnas.data import list_datasets

    for info in list_datasets(args.data_dir):
        mark = "yes" if info.available else "no "
        detail = info.where if info.available else info.how_to_get
        print(f"{info.name:15s} {mark}  {detail}")
    return 0


_COMMANDS = {"search": _search, "show": _show, "train": _train, "datasets": _datasets}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    from rlnas.data import DatasetError
    from rlnas.store import StoreError

    try:
        args = _parser().parse_args(argv)
        if getattr(args, "budget", None) is not None and args.budget < 1:
            raise UsageError("--budget must be at least 1")
        return _COMMANDS[args.command](args)
    except (UsageError, ConfigError, DatasetError, StoreError, ArchitectureSyntaxError) as error:
        print(f"rlnas: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rlnas: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
