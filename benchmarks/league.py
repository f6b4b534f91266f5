"""The league: strategies x seeds at equal wall time on real data, each run's best retrained
with the same final recipe and tested once; mean test accuracy with a 95% interval.

Every entry searches ``--minutes`` on ``--dataset`` under a hard limit of ``--max-params``
(the MetaQNN space, so every strategy searches the same networks; meta-a2c, which can
search any space, searches it too), children trained ``--epochs`` on a ``--subset``, two
workers; ``+mf`` entries add multi-fidelity rungs (``min_epochs`` 1). The run's best is
retrained ``--final-epochs`` with the ``strong`` recipe on all the training data and
scored on the test split (``top_k = 1``; the final job gets both cores).

``--search-recipe strong`` trains the children with the final recipe's optimiser, schedule,
label smoothing and augmentation (same cost; the default is MetaQNN's recipe), and
``--shortlist N`` re-ranks each run's best N by ``--shortlist-epochs`` of the final recipe
on all the training data before the final. Such a pass keeps its runs apart (their
directories are named after the settings) and needs its own ``--rows``.

Rows are appended to ``--rows`` (JSON lines) as each run finishes, and runs live in
``--keep``: stopped at any moment, the same command resumes, skipping finished rows and
resuming a half-done run where it stopped (rlnas's own resume). So the league can span
several sessions; ``--report`` prints the table and writes the plot from the rows alone,
with each entry's differences from random search and evolution paired by seed.
``--until HH:MM`` starts no run that would not finish by then (its search minutes, the
longest final so far, 10 if none, and 3 for calibration and start-up), so a session that
ends at a known time loses no half-done run.

    python benchmarks/league.py --minutes 45 --seeds 3 --keep /tmp/league \\
        --rows benchmarks/league.jsonl [--entries qlearning+mf random ...]
    python benchmarks/league.py --report --rows benchmarks/league.jsonl --plot benchmarks/league.png
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import statistics
import time
from dataclasses import replace
from pathlib import Path

from scipy.stats import t as t_dist

from rlnas.config import SearchConfig
from rlnas.runs import leaderboard
from rlnas.search import run_search
from rlnas.store import Store

ENTRIES = (
    "qlearning", "qlearning+mf", "reinforce", "reinforce+mf", "meta-a2c", "meta-a2c+mf",
    "evolution", "evolution+mf", "local", "local+mf", "random", "random+mf",
)  # fmt: skip
#: Settings for searches of hundreds of children where a paper's are for thousands.
SETTINGS = {"reinforce": {"learning_rate": 0.01}}


def variant(args: argparse.Namespace) -> str:
    """The run directories' suffix of a pass with other settings than the first's."""
    recipe = "" if args.search_recipe == "search" else f"-{args.search_recipe}"
    return recipe + (f"-shortlist{args.shortlist}" if args.shortlist else "")


def config(args: argparse.Namespace, entry: str, seed: int, models: int | None) -> SearchConfig:
    """An entry's search; ``models``: the models its time allows (Q-learning's schedule)."""
    strategy, _, mf = entry.partition("+")
    settings = dict(SETTINGS.get(strategy, {}))
    if strategy == "qlearning":
        settings["schedule_models"] = models  # epsilon reaches 0.1 as the time runs out
    return SearchConfig(
        dataset=args.dataset, strategy=strategy, space="metaqnn", max_params=args.max_params,
        subset=args.subset, epochs=args.epochs, min_epochs=1 if mf else None,
        budget=100_000, time_limit=args.minutes * 60, workers=2, seed=seed, top_k=1,
        final_epochs=args.final_epochs, final_recipe="strong", search_recipe=args.search_recipe,
        shortlist=args.shortlist, shortlist_epochs=args.shortlist_epochs,
        run_dir=str(args.keep / f"{entry}-{seed}{variant(args)}"),
        strategy_settings=settings, space_settings={"filters": [16, 24, 32, 48, 64]},
        train_settings={"build": {"batch_norm": True, "dropout": 0.0}},
    )  # fmt: skip


def pace(args: argparse.Namespace, mf: bool) -> float:
    """Seconds of search per trial on the league's two workers, from a short random search
    set up as the entries are, with the same rungs (``mf``), recipe and space (its trials
    are not counted; its start-up is, which errs towards fewer models)."""
    probe = replace(
        config(args, "random+mf" if mf else "random", seed=999, models=None),
        budget=8, time_limit=None, top_k=0, shortlist=0,
        run_dir=str(args.keep / f"calibration-{time.time_ns()}"),
    )  # fmt: skip
    summary = run_search(probe)
    return max(summary.search_seconds / max(len(summary.trials), 1), 1e-3)


def models_in_time(args: argparse.Namespace, seconds_per_trial: float) -> int:
    """About the models the search time allows: Q-learning's epsilon schedule is spread
    over them, so that it reaches 0.1 as the time runs out."""
    return max(10, int(args.minutes * 60 / seconds_per_trial))


def run(args: argparse.Namespace, entry: str, seed: int, seconds_per_trial: float | None) -> dict:
    """One entry's run and its row; ``seconds_per_trial``: the pace Q-learning's schedule
    is spread by (None for the strategies without a schedule)."""
    models = models_in_time(args, seconds_per_trial) if seconds_per_trial else None
    cfg = config(args, entry, seed, models)
    resume = (Path(cfg.run_dir) / "trials.db").exists()
    summary = run_search(cfg, resume=resume)
    if not summary.finals:
        raise SystemExit(f"{entry}, seed {seed}: no child trained fully in time; raise --minutes")
    final = summary.finals[0]
    best = leaderboard(summary.trials, summary.finals)[0]
    with Store(Path(cfg.run_dir) / "trials.db") as store:
        shortlisted = store.shortlist()
    return {
        "entry": entry, "seed": seed, "test_acc": final.test_acc, "arch": final.arch,
        "params": best.result.params, "flops": best.result.flops,
        "models": sum(t.new for t in summary.trials), "trials": len(summary.trials),
        "search_minutes": summary.search_seconds / 60, "final_minutes": final.seconds / 60,
        "resumed": resume, "minutes": args.minutes, "final_epochs": args.final_epochs,
        "seconds_per_trial": seconds_per_trial, "schedule_models": models,
        "search_recipe": args.search_recipe,
        "shortlist": args.shortlist, "shortlist_epochs": args.shortlist_epochs,
        # two workers share the shortlist: about its wall minutes
        "shortlist_minutes": sum(s.seconds for s in shortlisted.values()) / 60 / 2,
    }  # fmt: skip


def mean_ci(values: list[float]) -> tuple[float, float]:
    """The mean and the half-width of its 95% interval, with Student's t over the seeds
    (a handful of seeds: the normal 1.96 would be too narrow)."""
    if len(values) < 2:
        return statistics.mean(values), math.nan
    half = t_dist.ppf(0.975, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return statistics.mean(values), float(half)


def paired(rows: list[dict], entry: str, against: str) -> list[float]:
    """``entry``'s test accuracy minus ``against``'s, seed by seed, over the seeds both ran.
    A seed (its splits, its final training) moves every entry together, so differences
    within a seed are less noisy than the difference of the means."""
    ours = {r["seed"]: r["test_acc"] for r in rows if r["entry"] == entry}
    theirs = {r["seed"]: r["test_acc"] for r in rows if r["entry"] == against}
    return [ours[seed] - theirs[seed] for seed in sorted(ours.keys() & theirs.keys())]


def report(rows: list[dict], plot: Path | None) -> None:
    by_entry: dict[str, list[dict]] = {}
    for row in rows:
        by_entry.setdefault(row["entry"], []).append(row)
    print("| entry | seeds | test accuracy (mean ± 95% CI) | params (mean) | models | search min |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for entry, group in sorted(
        by_entry.items(), key=lambda kv: -statistics.mean(r["test_acc"] for r in kv[1])
    ):
        mean, half = mean_ci([r["test_acc"] for r in group])
        print(
            f"| {entry} | {len(group)} | {mean:.4f} ± {half:.4f} | "
            f"{statistics.mean(r['params'] for r in group):,.0f} | "
            f"{statistics.mean(r['models'] for r in group):.0f} | "
            f"{statistics.mean(r['search_minutes'] for r in group):.1f} |"
        )
    # the target: the best RL entry against random search and evolution
    references = [name for name in ("random", "evolution") if name in by_entry]
    if references and len(by_entry) > 1:
        print("\nPaired by seed (mean ± 95% CI of the differences within a seed):\n")
        print("| entry | " + " | ".join(f"minus {name}" for name in references) + " |")
        print("| --- |" + " --- |" * len(references))
        for entry in sorted(by_entry):
            cells = []
            for name in references:
                differences = paired(rows, entry, name) if entry != name else []
                if differences:
                    mean, half = mean_ci(differences)
                    seeds = f"{len(differences)} seed{'' if len(differences) == 1 else 's'}"
                    cells.append(f"{mean:+.4f} ± {half:.4f} ({seeds})")
                else:
                    cells.append("-")
            print(f"| {entry} | " + " | ".join(cells) + " |")
    if plot:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(7, 4), layout="constrained")
        ax = figure.add_subplot()
        names = sorted(by_entry)
        for i, name in enumerate(names):
            accs = [r["test_acc"] for r in by_entry[name]]
            ax.scatter([i] * len(accs), accs, color="#999", s=12)
            mean, half = mean_ci(accs)
            ax.errorbar([i], [mean], yerr=[0 if math.isnan(half) else half], fmt="o", color="C0")
        # The axis spans the runs, not the intervals: with two seeds Student's t(1) makes a
        # bar ten points tall, which would flatten every difference the plot is meant to show.
        every = [r["test_acc"] for r in rows]
        margin = max(0.005, (max(every) - min(every)) / 2)
        ax.set_ylim(min(every) - margin, max(every) + margin)
        counts = {name: len(by_entry[name]) for name in names}
        labels = [f"{n}\n({counts[n]} seed{'' if counts[n] == 1 else 's'})" for n in names]
        ax.set_xticks(range(len(names)), labels, rotation=45, ha="right")
        ax.set_ylabel("test accuracy of the run's best")
        ax.set_title("League: equal wall time, same final recipe (mean ± 95% CI)", loc="left")
        figure.savefig(plot)


def deadline(until: str | None) -> datetime.datetime | None:
    """``HH:MM`` today (tomorrow if that has passed), or an ISO date and time."""
    if until is None:
        return None
    now = datetime.datetime.now()
    try:
        if len(until) <= 5:
            hour, minute = (int(part) for part in until.split(":"))
            at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            return at if at > now else at + datetime.timedelta(days=1)
        return datetime.datetime.fromisoformat(until)
    except ValueError:
        raise SystemExit(f"--until {until!r}: give HH:MM or YYYY-MM-DDTHH:MM") from None


def same_settings(row: dict, args: argparse.Namespace) -> bool:
    """Whether ``row`` was measured with the search settings of ``args`` (rows from before
    the recipe and shortlist options had neither)."""
    measured = (row["minutes"], row.get("search_recipe", "search"), row.get("shortlist", 0))
    return measured == (args.minutes, args.search_recipe, args.shortlist)


def fits(args: argparse.Namespace, rows: list[dict], until: datetime.datetime | None) -> bool:
    """Whether one more run (search, its final, start-up) ends before ``until``."""
    if until is None:
        return True
    final = max((r["final_minutes"] for r in rows), default=10.0)
    shortlist = max((r.get("shortlist_minutes", 0.0) for r in rows), default=0.0)
    if args.shortlist and not shortlist:
        shortlist = 5.0
    needed = datetime.timedelta(minutes=args.minutes + shortlist + final + 3)
    return datetime.datetime.now() + needed <= until


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--minutes", type=float, default=45)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--entries", nargs="+", default=list(ENTRIES))
    parser.add_argument("--max-params", type=int, default=50_000)
    parser.add_argument("--subset", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--final-epochs", type=int, default=15)
    parser.add_argument("--search-recipe", choices=("search", "strong"), default="search")
    parser.add_argument("--shortlist", type=int, default=0)
    parser.add_argument("--shortlist-epochs", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=Path("/tmp/rlnas-league"))
    parser.add_argument("--rows", type=Path, default=Path("benchmarks/league.jsonl"))
    parser.add_argument("--until", help="start no run that would end after HH:MM")
    parser.add_argument("--report", action="store_true", help="only print the table")
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    rows = (
        [json.loads(line) for line in args.rows.read_text().splitlines()]
        if args.rows.exists()
        else []
    )
    until = deadline(args.until)
    if not args.report:
        args.keep.mkdir(parents=True, exist_ok=True)
        done = {(r["entry"], r["seed"]) for r in rows if same_settings(r, args)}
        paces: dict[bool, float] = {}  # Q-learning's: once per invocation, with and without rungs
        for seed in range(args.seeds):  # seed by seed: a stopped league has whole seeds
            for entry in args.entries:
                if (entry, seed) in done:
                    continue
                if not fits(args, rows, until):
                    print(f"--until {args.until}: no time for {entry}, seed {seed}; stopped")
                    report(rows, args.plot)
                    return
                mf, scheduled = "+mf" in entry, entry.startswith("qlearning")
                if scheduled and mf not in paces:
                    paces[mf] = pace(args, mf)
                row = run(args, entry, seed, paces[mf] if scheduled else None)
                rows.append(row)
                with args.rows.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    report(rows, args.plot)


if __name__ == "__main__":
    main()
