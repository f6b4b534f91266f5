"""The argument parser of the `rlnas` command: one function per subcommand."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from rlnas.config import ConfigError, parse_duration

__all__ = ["UsageError", "build_parser"]


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


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand."""
    parser = _Parser(
        prog="rlnas", description="Neural architecture search by reinforcement learning."
    )
    from rlnas import __version__

    parser.add_argument("--version", action="version", version=f"rlnas {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    s = sub.add_parser("search", help="search for an architecture (MetaQNN Q-learning by default)")
    for add in (_search_what, _search_limits, _search_where):
        add(s)
    for add_command in (_meta_train, _show, _train, _others):
        add_command(sub)
    return parser


def _search_what(s: argparse.ArgumentParser) -> None:
    """search: what to search, on which data, for which reward."""
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
    s.add_argument(
        "--search-recipe",
        help="training of the children: search (MetaQNN's, default) or strong (augmented)",
    )
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


def _search_limits(s: argparse.ArgumentParser) -> None:
    """search: budget, limits, training and what follows the search."""
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
    s.add_argument(
        "--min-epochs", type=int, metavar="E",
        help="multi-fidelity: compare trials after E, E*eta, ... epochs and train on only the "
        "best 1/eta at each rung (default: off)",
    )  # fmt: skip
    s.add_argument("--eta", type=int, help="multi-fidelity: keep the best 1/eta at a rung (3)")
    s.add_argument(
        "--screen", type=int, metavar="N",
        help="score N candidates per trial untrained with --screen-proxy, train the best",
    )  # fmt: skip
    s.add_argument("--screen-proxy", help="params (default), synflow or naswot")


def _search_where(s: argparse.ArgumentParser) -> None:
    """search: where trials run, and the run directory."""
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
    s.add_argument(
        "--trial-timeout", type=_duration, metavar="DURATION",
        help="stop a trial running longer than e.g. 10m (its worker is killed) as failed",
    )  # fmt: skip
    s.add_argument("--run-dir", help="run directory (default runs/<dataset>-<strategy>-<time>)")
    s.add_argument("--resume", action="store_true", help="continue the search in --run-dir")
    s.add_argument(
        "--no-report", action="store_true", help="do not write RUN/report.html during the search"
    )
    s.add_argument(
        "--tensorboard", metavar="DIR", help="also log the search for TensorBoard in DIR"
    )
    s.add_argument("--policy", help="meta-a2c: start from a policy file of rlnas meta-train")
    s.add_argument(
        "--frozen", action="store_true", help="meta-a2c: act with the policy, never update it"
    )


def _meta_train(sub: Any) -> None:
    """meta-train: one meta-a2c policy across data sets."""
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


def _show(sub: Any) -> None:
    """show: a run's leaderboard."""
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


def _train(sub: Any) -> None:
    """train: one architecture, as a search would."""
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
    t.add_argument("--search-recipe", help="recipe without --final: search (default) or strong")
    t.add_argument("--final-epochs", type=int, help="epochs with --final (20)")
    t.add_argument("--final-recipe", help="recipe with --final: search (default) or strong")
    t.add_argument("--seed", type=int)
    t.add_argument("--device")
    t.add_argument("--threads", type=int, help="torch threads")


def _others(sub: Any) -> None:
    """datasets, report, export and predict."""
    d = sub.add_parser("datasets", help="which data sets are available and from where")
    d.add_argument("--data-dir")

    r = sub.add_parser(
        "report", help="write RUN/report.html and PNG plots in RUN/plots/; several runs: compare"
    )
    r.add_argument("run", nargs="+", help="run directory (several: one comparison page)")
    r.add_argument("--out", default="comparison.html", help="the comparison page of several runs")
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
