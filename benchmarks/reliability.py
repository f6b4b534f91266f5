"""The fault-injection suite on every strategy, as a table for RESULTS.md: SIGKILLs that
landed, what was compared after resuming, and whether the store equalled the uninterrupted
run's (``rlnas.testing.check_kill_resume``, the function the tests run).

    python benchmarks/reliability.py [--kills 10] [--seeds 3] [--budget 20]

Each strategy runs on the fake evaluator (metaqnn space; ENAS on enas-macro, its shared-
weights phase included), with a shortlist of 3 and 2 finals after the search, so kills
also land in the shortlist and in the final trainings.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rlnas.strategies import STRATEGIES
from rlnas.testing import check_kill_resume

SETTINGS = {"enas": {"num_epochs": 3}, "reinforce": {"batch_size": 4}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=20)
    args = parser.parse_args()
    print("| strategy | seeds | kills landed | trials compared | shortlist | finals | equal | s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    totals = [0, 0, 0]
    for strategy in sorted(STRATEGIES):
        space = "enas-macro" if strategy == "enas" else "metaqnn"
        kills = trials = shortlisted = finals = 0
        start = time.perf_counter()
        for seed in range(args.seeds):  # check_kill_resume raises if anything differs
            with tempfile.TemporaryDirectory(prefix="rlnas-faults-") as tmp:
                report = check_kill_resume(
                    strategy, Path(tmp), space=space, settings=SETTINGS.get(strategy),
                    kills=args.kills, seed=seed, budget=args.budget, shortlist=3, top_k=2,
                )  # fmt: skip
            kills += report.kills
            trials += report.trials
            shortlisted += report.shortlisted
            finals += report.finals
        seconds = time.perf_counter() - start
        totals = [totals[0] + kills, totals[1] + trials, totals[2] + finals]
        print(
            f"| {strategy} | {args.seeds} | {kills} | {trials} | {shortlisted} | {finals} | yes "
            f"| {seconds:.0f} |",
            flush=True,
        )
    print(f"\nin all: {totals[0]} kills, {totals[1]} trials and {totals[2]} finals compared")


if __name__ == "__main__":
    main()
