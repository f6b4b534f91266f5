"""What each run of the Fashion-MNIST goal (or of the league) found, read from the runs'
stores: the final network, its size, its test accuracy (with the mirrors and in one pass,
when the config flips), the minutes of search, shortlist and final training, and how well
the search's order among its shortlisted best agrees with the shortlist's (Spearman).

    rlnas search --config benchmarks/fashion_goal.toml --seed S --run-dir RUN_S --no-report
    python benchmarks/goal_runs.py RUN_0 RUN_1 RUN_2 [--wall 69.5 ...] [--json]

The wall time of a whole run is not stored (a run may span sessions): ``--wall`` gives
each run's, as measured around the command, for the table.

Can the shortlist pick? Resume a finished run (a copy, to keep the original as it was)
with ``--top-k`` equal to its shortlist: rlnas retrains every shortlisted network with the
run's final recipe (the finals already stored are kept). Then this script also prints each
shortlisted network's final test accuracy, the Spearman of the shortlist's and the
search's order against the finals' and the pick's place among them:

    cp -r RUN COPY && rlnas search --resume --run-dir COPY --top-k 6 --no-report
    python benchmarks/goal_runs.py COPY ...
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

from league import mean_ci
from scipy.stats import spearmanr

from rlnas.runs import leaderboard, read_run
from rlnas.search.resume import SEARCH_SECONDS
from rlnas.store import TrialRecord


def summarise(run_dir: str) -> dict:
    with read_run(run_dir) as (store, config):
        trials, finals, scores = store.trials(), store.finals(), store.shortlist()
        searched = float(store.get_meta(SEARCH_SECONDS) or 0.0)
    ranked = [t for t in leaderboard(trials) if t.result.ok]
    listed = [t for t in ranked[: len(scores)] if t.arch in scores]
    shortlist_acc = [scores[t.arch].val_acc for t in listed]
    rho = (
        float(spearmanr(range(len(listed), 0, -1), shortlist_acc).statistic)
        if len(listed) > 2
        else math.nan
    )
    if not finals:
        raise SystemExit(f"{run_dir}: no final training stored; let the run finish")
    best = finals[0]
    result = next(t.result for t in ranked if t.arch == best.arch)
    winner = 1 + [t.arch for t in listed].index(best.arch) if best.arch in scores else None
    tests = {f.arch: f.test_acc for f in finals if not f.result.get("failed")}
    return {
        "run": run_dir,
        "seed": config.get("seed"),
        "arch": best.arch,
        "params": result.params,
        "flops": result.flops,
        "test_acc": best.test_acc,
        "test_acc_one_pass": best.result.get("metrics", {}).get("test_acc_one_pass"),
        "trials": len(trials),
        "models": sum(t.new for t in trials),
        "search_minutes": searched / 60,
        # the shortlist's trainings run on the workers side by side: the sum over workers
        "shortlist_job_minutes": sum(s.seconds for s in scores.values()) / 60,
        "final_minutes": best.seconds / 60,
        "search_val_acc": [t.result.val_acc for t in listed],
        "shortlist_val_acc": shortlist_acc,
        "spearman_search_vs_shortlist": rho,
        "winner_search_rank": winner,
        **shortlist_finals(listed, shortlist_acc, tests, best.arch),
    }


def shortlist_finals(
    listed: list[TrialRecord], shortlist_acc: list[float], tests: dict[str, float], pick: str
) -> dict:
    """With a final for each shortlisted network (a run resumed with ``--top-k`` equal to
    its shortlist): their tests in the search's order, how the shortlist's and the search's
    orders rank them (Spearman), and the pick's place among them (1: the best test)."""
    if len(listed) < 3 or any(t.arch not in tests for t in listed):
        return {}
    finals = [tests[t.arch] for t in listed]
    search_order = range(len(listed), 0, -1)
    return {
        "final_test_acc": finals,
        "spearman_shortlist_vs_final": float(spearmanr(shortlist_acc, finals).statistic),
        "spearman_search_vs_final": float(spearmanr(search_order, finals).statistic),
        "pick_final_rank": 1 + sorted(finals, reverse=True).index(tests[pick]),
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--wall", type=float, nargs="+", help="each run's minutes in all")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = [summarise(run) for run in args.runs]
    for row, wall in zip(rows, args.wall or [None] * len(rows), strict=True):
        row["wall_minutes"] = wall
    print("| seed | network | params | MACs | test | one pass | time | search vs shortlist |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for r in rows:
        one = r["test_acc_one_pass"]
        wall = f"{r['wall_minutes']:.1f} min: " if r["wall_minutes"] else ""
        print(
            f"| {r['seed']} | `{r['arch']}` | {r['params']:,} | {r['flops'] / 1e6:.1f}M | "
            f"{r['test_acc']:.2%} | {'-' if one is None else f'{one:.2%}'} | "
            f"{wall}search {r['search_minutes']:.1f} ({r['trials']} trials), final "
            f"{r['final_minutes']:.1f} | {r['spearman_search_vs_shortlist']:+.2f} "
            f"(winner: the search's no. {r['winner_search_rank']}) |"
        )
    tests = [r["test_acc"] for r in rows]
    if len(tests) > 1:  # Student's t: a handful of runs
        mean, half = mean_ci(tests)
        print(f"\ntest accuracy over {len(tests)} runs: {mean:.2%} ± {half:.2%}")
    studied = [r for r in rows if "final_test_acc" in r]
    if studied:
        print("\n| run | shortlist's finals (search order) | pick (its place) | best | mean | "
              "shortlist vs final | search vs final |")  # fmt: skip
        print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in studied:
        finals = r["final_test_acc"]
        listed = ", ".join(f"{a:.2%}" for a in finals)
        print(
            f"| {Path(r['run']).name} | {listed} | {r['test_acc']:.2%} "
            f"(no. {r['pick_final_rank']}) | {max(finals):.2%} | {statistics.mean(finals):.2%}"
            f" | {r['spearman_shortlist_vs_final']:+.2f} | {r['spearman_search_vs_final']:+.2f} |"
        )
    if args.json:
        print(json.dumps(rows))
    return rows


if __name__ == "__main__":
    main()
