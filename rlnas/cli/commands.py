"""The subcommands of `rlnas`. Thin: each calls a library function."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rlnas.cli.parser import UsageError
from rlnas.config import SearchConfig, load_config

__all__ = ["COMMANDS"]


_SEARCH_FLAGS = (
    "dataset", "data_dir", "strategy", "space", "reward", "budget", "time_limit", "epochs",
    "final_epochs", "top_k", "seed", "val_fraction", "device", "threads", "run_dir",
    "max_params", "max_flops", "max_latency_ms", "latency", "latency_batch", "latency_threads",
    "prune", "min_epochs", "eta", "screen", "screen_proxy", "subset", "search_recipe",
    "final_recipe", "shortlist", "shortlist_epochs",
    "executor", "workers", "ray_address", "cpus_per_trial", "gpus_per_trial", "max_retries",
    "trial_timeout",
)  # fmt: skip


def _search(args: argparse.Namespace) -> int:
    from rlnas.report.console import ConsoleMonitor
    from rlnas.search import Monitor, MonitorGroup, run_search

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
    monitors: list[Monitor] = []
    if not args.no_report:
        from rlnas.report import ReportMonitor

        monitors.append(ReportMonitor())  # first: the report is final when the end is shown
    if args.tensorboard:
        from rlnas.report.tensorboard import TensorBoardMonitor

        monitors.append(TensorBoardMonitor(args.tensorboard))
    monitor = MonitorGroup(*monitors, ConsoleMonitor())
    summary = run_search(config, resume=args.resume, monitor=monitor)
    return 130 if summary.stopped == "interrupted" else 0


def _show(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from rlnas.runs import open_ranking, open_run, pareto_front, ranking, rerank, rows_to_json

    if args.top < 0:
        raise UsageError("--top must be at least 0")
    if args.reward or args.pareto:  # every trial is needed
        config, trials, finals = open_run(args.run)
        if args.reward:
            trials = rerank(trials, args.reward, config)
        rows = ranking(trials, finals)
        if args.pareto:
            front = {t.arch for t in pareto_front(trials)}
            rows = [r for r in rows if r.arch in front]
        else:
            rows = rows[: args.top]
        count = len(trials)
    else:
        config, count, rows = open_ranking(args.run, args.top)
    if args.json:
        print(rows_to_json(rows))
        return 0
    what = "Pareto front (val acc, params, latency)" if args.pareto else "leaderboard"
    reward = args.reward or config.get("reward", "accuracy")
    table = Table(
        title=f"{args.run}: {what} of {count} trials, "
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
    "dataset", "data_dir", "epochs", "search_recipe", "final_epochs", "final_recipe", "seed",
    "device", "threads",
)  # fmt: skip


def _train(args: argparse.Namespace) -> int:
    from rlnas.search import train_architecture

    values = load_config(args.config) if args.config else {}
    values.update({k: getattr(args, k) for k in _TRAIN_FLAGS if getattr(args, k) is not None})
    config = SearchConfig.from_dict(values, source="options")
    report = train_architecture(args.arch, config, final=args.final)
    print(f"architecture {report.arch}")
    if report.outside:
        print(f"note: {report.outside}; trained as given")
    if report.failed:
        print(f"training FAILED: {report.failed}; no model to test")
        print(f"params {report.params:,}  FLOPs {report.flops:,}  {report.seconds:.1f}s")
        return 1
    how = "on train+validation (final)" if args.final else "on the train split"
    print(f"trained {report.epochs} epochs {how}, {report.recipe['optimizer']}, "
          f"{report.recipe['schedule']} schedule, augment {report.recipe['augment']}")  # fmt: skip
    if report.val_acc is not None:
        print(f"validation accuracy {report.val_acc:.4f}")
    one_pass = report.metrics.get("test_acc_one_pass")
    flipped = f" with its mirrors (one pass {one_pass:.4f})" if one_pass is not None else ""
    print(f"test accuracy {report.test_acc:.4f}{flipped}")
    print(f"params {report.params:,}  FLOPs {report.flops:,}  {report.seconds:.1f}s  ok")
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

    if len(args.run) > 1:
        from rlnas.report.compare import write_comparison

        print(write_comparison(args.run, args.out))
        return 0
    files = write_report(args.run[0], png=not args.no_png, top=args.top, draw=args.draw)
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
    from rlnas.search.meta import MetaEpisode, meta_train_datasets

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


#: Subcommand -> the function that runs it (returns the exit code).
COMMANDS = {
    "search": _search, "show": _show, "train": _train, "datasets": _datasets,
    "report": _report, "export": _export, "predict": _predict,
    "meta-train": _meta_train,
}  # fmt: skip
