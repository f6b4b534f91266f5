"""Searched recurrent cells against an LSTM of equal size, at equal training budget.

For each seed and strategy, a search over the ``rnn-cell`` space (character-level
language modelling on an offline text), then the best cell it found and the LSTM whose
parameter count is closest to it are both retrained from scratch with the same recipe,
the same data (train + validation) and the same number of epochs, and scored once on the
test text. Reported per run: the cell, test perplexity of the cell and of the LSTM, their
parameter counts, the search's best validation perplexity and the seconds spent.

The text: by default every license text of ``/usr/share/common-licenses`` (Debian's
``base-files``: 14 files, ~237 kB of English prose on Debian and Ubuntu), concatenated
in name order into ``OUT/corpus.txt``; ``--text FILE`` uses any other UTF-8 file.

    python benchmarks/rnn_cells.py --out runs/rnn-cells                 # full (~30 min)
    python benchmarks/rnn_cells.py --tiny --out /tmp/rnn-cells-tiny     # smoke test (~20 s)

The search is cheap on purpose (few epochs on a prefix of the training text,
``--subset``); REINFORCE uses learning rate 0.01 and batches of 4 (Zoph & Le's 6e-4 is for
~10,000 children); ENAS trains ``--enas-budget`` of its ranked candidates. Random search
at the same budget shows what the controller adds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rlnas.config import SearchConfig
from rlnas.search import build_evaluator, run_search

LICENSES = Path("/usr/share/common-licenses")


def default_corpus(out: Path) -> Path:
    """The license texts (real files, not the symlinks), concatenated in name order."""
    files = sorted(p for p in LICENSES.iterdir() if p.is_file() and not p.is_symlink())
    if not files:
        raise SystemExit(f"no texts in {LICENSES}; pass --text FILE")
    path = out / "corpus.txt"
    path.write_text("\n\n".join(p.read_text(encoding="utf-8") for p in files), encoding="utf-8")
    return path


def configs(args: argparse.Namespace, text: Path, seed: int) -> dict[str, SearchConfig]:
    """One search config per strategy, sharing data, space, training and final recipe."""
    base = SearchConfig(
        dataset=f"text:{text}", space="rnn-cell", budget=args.budget, epochs=args.search_epochs,
        final_epochs=args.final_epochs, top_k=1, seed=seed, subset=args.subset, device="cpu",
        threads=args.threads, space_settings=args.space, train_settings=args.train,
    )  # fmt: skip
    settings: dict[str, dict[str, Any]] = {
        "reinforce": {"learning_rate": args.reinforce_lr, "batch_size": 4},
        "enas": {"num_epochs": args.enas_epochs} | ({"num_candidates": 20} if args.tiny else {}),
        "random": {},
    }
    made = {}
    for strategy in args.strategies:
        budget = args.enas_budget if strategy == "enas" else args.budget
        made[strategy] = replace(
            base, strategy=strategy, budget=budget, strategy_settings=settings[strategy],
            run_dir=str(args.out / f"{strategy}-seed{seed}"),
        )  # fmt: skip
    return made


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    text = Path(args.text) if args.text else default_corpus(args.out)
    rows = []
    for seed in range(args.seeds):
        made = configs(args, text, seed)
        # one evaluator per seed: the LSTM baseline (seeded by the run seed) is trained once
        evaluator = build_evaluator(next(iter(made.values())))
        for strategy, config in made.items():
            start = time.perf_counter()
            summary = run_search(config, evaluator=evaluator)
            (final,) = summary.finals
            best = next(t for t in summary.trials if t.arch == final.arch)
            m = final.result["metrics"]
            rows.append({
                "strategy": strategy, "seed": seed, "cell": final.arch,
                "search_val_ppl": best.result.extra["val_ppl"],
                "cell_test_ppl": m["test_ppl"], "lstm_test_ppl": m["lstm_test_ppl"],
                "cell_params": int(m["params"]), "lstm_params": int(m["lstm_params"]),
                "lstm_hidden": int(m["lstm_hidden"]), "trained": sum(t.new for t in summary.trials),
                "search_seconds": round(summary.search_seconds, 1),
                "final_seconds": round(final.seconds, 1),
                "total_seconds": round(time.perf_counter() - start, 1),
            })  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """Markdown: one line per run, then the mean per strategy."""
    lines = [
        f"Text: {args.text or 'the license texts of ' + str(LICENSES)}; "
        f"{args.final_epochs} final epochs for cell and LSTM alike.",
        "",
        "| strategy | seed | test ppl cell | test ppl LSTM | params cell / LSTM | search val ppl | "
        "trained | search s | cell |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['strategy']} | {r['seed']} | {r['cell_test_ppl']:.3f} | "
            f"{r['lstm_test_ppl']:.3f} | {r['cell_params']:,} / {r['lstm_params']:,} | "
            f"{r['search_val_ppl']:.3f} | {r['trained']} | {r['search_seconds']:.0f} | "
            f"`{r['cell']}` |"
        )
    lines += ["", "| strategy | mean test ppl cell | mean test ppl LSTM | cell better in |",
              "| --- | --- | --- | --- |"]  # fmt: skip
    for strategy in args.strategies:
        mine = [r for r in rows if r["strategy"] == strategy]
        cell = statistics.fmean(r["cell_test_ppl"] for r in mine)
        lstm = statistics.fmean(r["lstm_test_ppl"] for r in mine)
        wins = sum(r["cell_test_ppl"] < r["lstm_test_ppl"] for r in mine)
        lines.append(f"| {strategy} | {cell:.3f} | {lstm:.3f} | {wins} of {len(mine)} seeds |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for runs and results")
    parser.add_argument("--text", help="a UTF-8 text file (default: the license texts)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--strategies", default="reinforce,enas,random")
    parser.add_argument("--budget", type=int, default=40, help="cells trained per search")
    parser.add_argument("--enas-budget", type=int, default=5, help="ENAS's candidates trained")
    parser.add_argument("--enas-epochs", type=int, default=10, help="ENAS's phase epochs")
    parser.add_argument("--search-epochs", type=int, default=1)
    parser.add_argument("--subset", type=int, default=40_000, help="training characters (search)")
    parser.add_argument("--final-epochs", type=int, default=10)
    parser.add_argument("--reinforce-lr", type=float, default=0.01)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: fastest for small cells)"
    )
    parser.add_argument("--tiny", action="store_true", help="a smoke test at tiny scale")
    args = parser.parse_args()
    args.strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    args.space, args.train = {}, {}
    if args.tiny:
        args.seeds, args.budget, args.enas_budget, args.enas_epochs = 1, 3, 2, 2
        args.subset, args.final_epochs = 5_000, 1
        args.space = {"num_nodes": 4, "embedding_size": 16, "hidden_size": 32}
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows = run(args)
    (args.out / "results.json").write_text(json.dumps(rows, indent=2))
    report = table(rows, args)
    report += f"\n\nTotal {time.perf_counter() - start:.0f} s."
    (args.out / "results.md").write_text(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
