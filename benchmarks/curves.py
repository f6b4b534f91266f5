"""How well a trial's final validation accuracy is predicted from its first epochs.

Curves come from the digits table (every architecture, both seeds) and from any run
stores given with ``--runs`` (their fully trained trials). They are shuffled and split:
the predictors are fitted on ``--fit`` curves (a search's own finished curves early on),
then predict the last best value of every other curve from its first ``seen`` epochs.

Predictors, side by side: the value so far (no prediction), a power law ``a - b t^-c``
with a shared exponent (fitted per curve given ``c``), and rlnas's nearest-neighbour gain
(:mod:`rlnas.evaluation.curves`). Also, for the learning-curve stopping of multi-fidelity
search: of the curves whose upper prediction (prediction + the 95% margin) fell below a
cutoff, how many in fact reached it (wrongly stopped), and how many epochs the stops saved.

    python benchmarks/curves.py [--fit 30] [--runs RUN ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import numpy as np

from rlnas.evaluation.curves import fit_predictor
from rlnas.evaluation.tabular import load_table


def table_curves(name: str) -> list[list[float]]:
    table = load_table(name)
    return [
        run["val"] for a in table["architectures"].values() for run in a["runs"]
        if run["status"] == "ok"
    ]  # fmt: skip


def run_curves(path: Path) -> list[list[float]]:
    with sqlite3.connect(path / "trials.db") as db:
        rows = db.execute("SELECT result FROM trials WHERE new = 1 AND status = 'ok'").fetchall()
    return [json.loads(r[0])["val_curve"] for r in rows]


def power_law(fit: list[np.ndarray]):
    """A ``predict(prefix, epochs)`` of ``y = a - b t^-c``: ``c`` shared (grid search on the
    fitted curves), ``a, b`` by least squares per prefix (one point: the median ``b``)."""

    def b_of(y, c):
        x = np.arange(1, len(y) + 1) ** -c
        return max(-np.polyfit(x, y, 1)[0], 0.0)

    def make(c):
        b_med = float(np.median([b_of(y, c) for y in fit]))

        def predict(prefix, epochs):
            x = np.arange(1, len(prefix) + 1) ** -c
            if len(prefix) >= 2:
                slope, a = np.polyfit(x, prefix, 1)
                b = max(-slope, 0.0)
            else:
                b, a = b_med, prefix[-1] + b_med * x[-1]
            return max(a - b * epochs**-c, prefix[-1])

        return predict

    def error(c):
        p = make(c)
        return np.mean([abs(p(y[:t], len(y)) - y[-1]) for y in fit for t in range(1, len(y))])

    return make(min(np.geomspace(0.1, 4, 30), key=error))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", default="digits-tiny")
    parser.add_argument("--runs", nargs="*", default=[], type=Path)
    parser.add_argument("--fit", type=int, default=30, help="curves the predictors learn from")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sources = {args.table: table_curves(args.table)}
    sources |= {str(r): run_curves(r) for r in args.runs}
    rows = []
    for source, raw in sources.items():
        length = max(set(map(len, raw)), key=[len(c) for c in raw].count)
        curves = [np.maximum.accumulate(c) for c in raw if len(c) == length]
        order = np.random.default_rng(args.seed).permutation(len(curves))
        fit = [curves[i] for i in order[: args.fit]]
        held = [curves[i] for i in order[args.fit :]]
        ours, law = fit_predictor(fit), power_law(fit)
        for seen in range(1, length):
            truth = np.array([y[-1] for y in held])
            preds = {
                "so far": np.array([y[seen - 1] for y in held]),
                "power law": np.array([law(y[:seen], length) for y in held]),
                "rlnas (neighbour gain)": np.array([ours.predict(y[:seen], length) for y in held]),
            }
            row = {"source": source, "curves": len(held), "epochs": length, "seen": seen}
            row |= {k: float(np.mean(np.abs(v - truth))) for k, v in preds.items()}
            cutoff = float(np.quantile(truth, 2 / 3))  # the top third at the end: ASHA's cut
            stopped = np.array([ours.upper(y[:seen], length) < cutoff for y in held])
            row["stopped"] = float(stopped.mean())
            row["wrongly stopped"] = float(
                (stopped & (truth >= cutoff)).sum() / max((truth >= cutoff).sum(), 1)
            )
            row["margin"] = ours.margin
            rows.append(row)
            print(
                f"{source} seen {seen}/{length}: MAE so far {row['so far']:.4f}, power law "
                f"{row['power law']:.4f}, rlnas {row['rlnas (neighbour gain)']:.4f}; stopped "
                f"{row['stopped']:.0%}, of the top third wrongly {row['wrongly stopped']:.1%}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
