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
        "tabular:digits-tiny (a pre-trained table: instant answers), or text for language "
        "models: ptb (with --data-dir) or text:FILE",
    )
    s.add_argument("--data-dir", help="where to look for data-set files first")
    s.add_argument(
        "--strategy", help="qlearning (default), evolution, random, reinforce, enas or meta-a2c"
    )
    s.add_argument(
        "--space",
        help="metaqnn (default, small data), metaqnn-paper, metaqnn-tiny, blockqnn, "
        "blockqnn-chain, enas-macro (needed by --strategy enas on images) or rnn-cell (text)",
    )
    s.add_argument(
        "--reward",
        help="accuracy (default), penalized:params=50k,latency=2ms[,lambda_size=1,"
        "lambda_latency=1], mnas:T=2ms[,w=-0.07] or mnas:T=2ms,hard",
    )
    s.add_argument("--budget", type=int, help="unique models to train (default 60)")
    s.add_argument(
        "--time-limit",
        type=_duration,
        help="stop searching after e.g. 90s, 10m, 1h30m of search in all "
        "(a resumed search gets what is left)",
    )
    s.add_argument("--epochs", type=int, help="epochs per child during the search (default 8)")
    s.add_argument("--final-epochs", type=int, help="epochs when retraining the top-k (default 20)")
    s.add_argument(
        "--final-recipe", help="retraining of the top-k: search (default) or strong (augmented)"
    )
    s.add_argument("--top-k", type=int, help="how many of the best to retrain and test (default 3)")
    s.add_argument(
        "--shortlist", type=int, metavar="N",
        help="first re-rank the search's N best by --shortlist-epochs of the final recipe on all "
        "the training data, scored on validation (default 0: off)",
    )  # fmt: skip
    s.add_argument(
        "--shortlist-epochs", type=int, metavar="N", help="epochs of each shortlist run (default 5)"
    )
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
    s.add_argument("--workers", type=int, help="trials trained at once (default 1)")
    s.add_argument(
        "--executor", help="inline (default for 1 worker), process (local workers) or ray"
    )
    s.add_argument("--ray-address", help="Ray cluster to join: auto or HOST:PORT (default: local)")
    s.add_argument("--cpus-per-trial", type=float, help="CPUs each Ray trial declares (1)")
    s.add_argument("--gpus-per-trial", type=float, help="GPUs each Ray trial declares (0)")
    s.add_argument("--max-retries", type=int, help="re-runs of a trial whose worker died (2)")
    s.add_argument("--run-dir", help="run directory (default runs/<dataset>-<strategy>-<time>)")
    s.add_argument("--resume", action="store_true", help="continue the search in --run-dir")
    s.add_argument(
        "--no-report", action="store_true", help="do not write RUN/report.html during the search"
    )
    s.add_argument("--policy", help="meta-a2c: start from a policy file of rlnas meta-train")
    s.add_argument(
        "--frozen", action="store_true", help="meta-a2c: act with the policy, never update it"
    )

    m = sub.add_parser("meta-train", help="train one meta-a2c policy across several data sets")
    m.add_argument("--datasets", required=True, help="comma-separated, e.g. digits,mnist")
    m.add_argument("--steps", type=int, required=True, help="actions (layers) to take in total")
    m.add_argument("--out", required=True, help="the policy file to write, e.g. policy.pt")
    m.add_argument("--space", default="blockqnn-chain", help="search space (blockqnn-chain)")
    m.add_argument("--epochs", type=int, default=8, help="epochs per child network (8)")
    m.add_argument("--subset", type=int, help="train children on this many images per data set")
    m.add_argument("--switch-every", type=int, default=50, help="episodes per turn (50)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--data-dir")
    m.add_argument("--device", default="auto")
    m.add_argument("--threads", type=int)

    show = sub.add_parser("show", help="leaderboard of a run")
    show.add_argument("run", help="run directory")
    show.add_argument("--top", type=int, default=10, help="rows to show (default 10)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument(
        "--pareto", action="store_true", help="only the non-dominated: val acc, params, latency"
    )
    show.add_argument(
        "--reward", help="re-rank under another reward, e.g. mnas:T=2ms (nothing is retrained)"
    )

    t = sub.add_parser("train", help="train one architecture, print validation and test accuracy")
    t.add_argument("arch", help="e.g. '[C(32,3,1), P(2,2), FC(64), SM(10)]'")
    t.add_argument("--config", help="TOML file of a search: its data set and recipes")
    t.add_argument("--dataset", help="data set (default digits)")
    t.add_argument("--data-dir")
    t.add_argument(
        "--final", action="store_true",
        help="train as a search retrains its best: train+validation, --final-epochs of "
        "--final-recipe, then test",
    )  # fmt: skip
    t.add_argument("--epochs", type=int, help="epochs of the search-time training (8)")
    t.add_argument("--final-epochs", type=int, help="epochs with --final (20)")
    t.add_argument("--final-recipe", help="recipe with --final: search (default) or strong")
    t.add_argument("--seed", type=int)
    t.add_argument("--device")
    t.add_argument("--threads", type=int, help="torch threads")

    d = sub.add_parser("datasets", help="which data sets are available and from where")
    d.add_argument("--data-dir")

    r = sub.add_parser("report", help="write RUN/report.html and PNG plots in RUN/plots/")
    r.add_argument("run", help="run directory")
    r.add_argument("--top", type=int, default=25, help="rows of the top-trials table (25)")
    r.add_argument("--draw", type=int, default=5, help="top architectures to draw (5)")
    r.add_argument("--no-png", action="store_true", help="skip the PNG copies of the plots")

    e = sub.add_parser("export", help="export a trained model of a run")
    e.add_argument("run", help="run directory")
    e.add_argument("--rank", type=int, default=1, help="leaderboard rank to export (1: best)")
    e.add_argument("--format", required=True, choices=["pytorch", "torchscript", "onnx"])
    e.add_argument("--out", required=True, help="file to write (pytorch: a .py module)")
    e.add_argument(
        "--train", action="store_true", help="train the rank first if it has no saved weights"
    )

    p = sub.add_parser("predict", help="classify image files with an exported model")
    p.add_argument("model", help="a file `rlnas export` wrote (.py, .pt or .onnx)")
    p.add_argument("images", nargs="+", help="image files (PNG, JPEG, ...)")
    p.add_argument("--top", type=int, default=1, help="classes to show per image (1)")
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser


_SEARCH_FLAGS = (
    "dataset", "data_dir", "strategy", "space", "reward", "budget", "time_limit", "epochs",
    "final_epochs", "top_k", "seed", "val_fraction", "device", "threads", "run_dir",
    "max_params", "max_flops", "max_latency_ms", "latency", "latency_batch", "latency_threads",
    "prune", "subset", "final_recipe", "shortlist", "shortlist_epochs",
    "executor", "workers", "ray_address", "cpus_per_trial", "gpus_per_trial", "max_retries",
)  # fmt: skip


def _search(args: argparse.Namespace) -> int:
    from rlnas.progress import ConsoleMonitor
    from rlnas.search import Monitor, run_search

    values: dict[str, Any] = {}
    if args.resume:
        if not args.run_dir:
            raise UsageError("--resume needs --run-dir DIR, the run to continue")
        from rlnas.runs import open_run

        values = open_run(args.run_dir)[0]
    if args.config:
        values.update(load_config(args.config))
    values.update({k: getattr(args, k) for k in _SEARCH_FLAGS if getattr(args, k) is not None})
    if args.policy or args.frozen:
        if values.get("strategy") != "meta-a2c":
            raise UsageError("--policy and --frozen apply to --strategy meta-a2c")
        settings = dict(values.get("strategy_settings", {}))
        if args.policy:
            settings["policy"] = args.policy
        if args.frozen:
            if not settings.get("policy"):
                raise UsageError("--frozen needs --policy FILE (a policy from rlnas meta-train)")
            settings["frozen"] = True
        values["strategy_settings"] = settings
    config = SearchConfig.from_dict(values, source="options")
    monitor: Monitor = ConsoleMonitor()
    if not args.no_report:
        from rlnas.progress import MonitorGroup
        from rlnas.report import ReportMonitor

        monitor = MonitorGroup(ReportMonitor(), monitor)  # the report is final when shown
    summary = run_search(config, resume=args.resume, monitor=monitor)
    return 130 if summary.stopped == "interrupted" else 0


def _show(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from rlnas.runs import open_run, pareto_front, ranking, rerank, rows_to_json

    config, trials, finals = open_run(args.run)
    if args.reward:
        trials = rerank(trials, args.reward, config)
    if args.pareto:
        front = {t.arch for t in pareto_front(trials)}
        rows = [r for r in ranking(trials, finals) if r.arch in front]
    else:
        rows = ranking(trials, finals)[: args.top]
    if args.json:
        print(rows_to_json(rows))
        return 0
    what = "Pareto front (val acc, params, latency)" if args.pareto else "leaderboard"
    reward = args.reward or config.get("reward", "accuracy")
    table = Table(
        title=f"{args.run}: {what} of {len(trials)} trials, "
        f"{config.get('strategy')} on {config.get('dataset')}, reward {reward}"
    )
    columns = ["rank", "architecture", "reward", "val acc", "test acc", "params", "FLOPs"]
    has_latency = any(r.latency_ms is not None for r in rows)
    has_ppl = any(r.val_ppl is not None for r in rows)  # language models
    columns += ["val ppl", "test ppl"] * has_ppl
    columns += ["latency ms"] * has_latency + ["seconds", "status"]
    for name in columns:
        table.add_column(name, justify="left" if name == "architecture" else "right")
    for r in rows:
        test = f"{r.test_acc:.4f}" if r.test_acc is not None else "-"
        cells = [str(r.rank), r.arch, f"{r.reward:.4f}", f"{r.val_acc:.4f}", test]
        cells += [f"{r.params:,}", f"{r.flops:,}"]
        if has_ppl:
            cells += [f"{p:.3f}" if p is not None else "-" for p in (r.val_ppl, r.test_ppl)]
        if has_latency:
            cells.append(f"{r.latency_ms:.3f}" if r.latency_ms is not None else "-")
        cells += [f"{r.seconds:.1f}", r.status]
        table.add_row(*cells)
    Console(width=max(120, Console().width)).print(table)
    return 0


_TRAIN_FLAGS = (
    "dataset", "data_dir", "epochs", "final_epochs", "final_recipe", "seed", "device", "threads"
)  # fmt: skip


def _train(args: argparse.Namespace) -> int:
    from rlnas.runs import train_architecture

    values = load_config(args.config) if args.config else {}
    values.update({k: getattr(args, k) for k in _TRAIN_FLAGS if getattr(args, k) is not None})
    config = SearchConfig.from_dict(values, source="options")
    report = train_architecture(args.arch, config, final=args.final)
    status = f"FAILED ({report.failed})" if report.failed else "ok"
    how = "on train+validation (final)" if args.final else "on the train split"
    print(f"architecture {report.arch}")
    print(f"trained {report.epochs} epochs {how}, {report.recipe['optimizer']}, "
          f"{report.recipe['schedule']} schedule, augment {report.recipe['augment']}")  # fmt: skip
    if report.val_acc is not None:
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


def _report(args: argparse.Namespace) -> int:
    from rlnas.report import write_report

    files = write_report(args.run, png=not args.no_png, top=args.top, draw=args.draw)
    print(files.html)
    if files.pngs:
        print(f"{len(files.pngs)} PNG plots in {files.pngs[0].parent}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from rlnas.export import export_model

    for path in export_model(args.run, args.format, args.out, rank=args.rank, train=args.train):
        print(path)
    return 0


def _predict(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from rlnas.predict import predict

    predictions = predict(args.model, args.images, top=args.top)
    if args.json:
        print(json.dumps([asdict(p) for p in predictions], indent=2))
        return 0
    for p in predictions:
        shown = "  ".join(f"{name} {prob:.3f}" for name, prob in p.top)
        print(f"{p.path}\t{shown}")
    return 0


def _meta_train(args: argparse.Namespace) -> int:
    from rlnas.data.derived import split_names
    from rlnas.meta import MetaEpisode, meta_train_datasets

    if args.steps < 1 or args.switch_every < 1:
        raise UsageError("--steps and --switch-every must be at least 1")

    def line(e: MetaEpisode) -> None:
        mark = "" if e.new else " (cached)"
        print(
            f"episode {e.episode} {e.task}: {e.reward:.4f} {e.architecture}{mark}", file=sys.stderr
        )

    datasets = split_names(args.datasets)
    run = meta_train_datasets(
        datasets, steps=args.steps, out=args.out, space=args.space, epochs=args.epochs,
        subset=args.subset, seed=args.seed, switch_every=args.switch_every,
        data_dir=args.data_dir, device=args.device, threads=args.threads, on_episode=line,
    )  # fmt: skip
    print(
        f"meta-trained on {', '.join(datasets)}: {run.agent.steps} steps, "
        f"{len(run.episodes)} networks; policy saved to {args.out}",
        file=sys.stderr,
    )
    return 0


_COMMANDS = {
    "search": _search, "show": _show, "train": _train, "datasets": _datasets,
    "report": _report, "export": _export, "predict": _predict,
    "meta-train": _meta_train,
}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    from rlnas.data import DatasetError
    from rlnas.predict import ExportError
    from rlnas.store import StoreError

    try:
        args = _parser().parse_args(argv)
        if getattr(args, "budget", None) is not None and args.budget < 1:
            raise UsageError("--budget must be at least 1")
        return _COMMANDS[args.command](args)
    except (
        UsageError, ConfigError, DatasetError, StoreError, ArchitectureSyntaxError, ExportError
    ) as error:  # fmt: skip
        print(f"rlnas: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rlnas: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
