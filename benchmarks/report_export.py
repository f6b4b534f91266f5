"""What the report and the export cost, and how exactly exported models agree, in one run.

1. Report: fake-evaluator Q-learning runs of growing size (seeded); seconds to write the
   HTML alone (what a refresh during a search costs) and with the PNG copies, and the size
   of the page.
2. Export: a real digits search; its best model exported in each format; seconds to
   export, file size, the largest logit difference from the trained model on the test
   split, and `rlnas predict` on the test images written as PNG files: images per second
   and the share of predictions equal to the in-memory model's.

    python benchmarks/report_export.py [--budgets 100,500,2000] [--search-budget 20]
        [--epochs 4] [--seed 0]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from rlnas.config import SearchConfig
from rlnas.data import load_dataset
from rlnas.export import FORMATS, export_model, load_trained
from rlnas.predict import load_exported, predict
from rlnas.report import write_report
from rlnas.search import run_search
from rlnas.spaces import make_space
from rlnas.testing import FakeEvaluator


def timed(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report_costs(budgets: list[int], seed: int, root: Path) -> None:
    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    print("| models trained | trials | HTML ms | HTML + PNG s | page KB |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for budget in budgets:
        run = root / f"fake-{budget}"
        config = SearchConfig(budget=budget, seed=seed, top_k=3, epochs=8, run_dir=str(run))
        summary = run_search(
            config, evaluator=FakeEvaluator(space, seed=seed, noise=0.02, epochs=8)
        )
        html = timed(lambda run=run: write_report(run, png=False))
        full = timed(lambda run=run: write_report(run, png=True), repeats=1)
        size = (run / "report.html").stat().st_size / 1024
        print(f"| {budget} | {len(summary.trials)} | {1000 * html:.0f} | {full:.2f} | {size:.0f} |")


def export_agreement(budget: int, epochs: int, seed: int, root: Path) -> None:
    run = root / "digits"
    config = SearchConfig(
        budget=budget, epochs=epochs, final_epochs=2 * epochs, top_k=1, seed=seed,
        device="cpu", run_dir=str(run),
    )  # fmt: skip
    run_search(config)
    trained = load_trained(run)
    data = load_dataset("digits")
    with torch.no_grad():
        expected = trained.model(data.x_test).numpy()
    pngs = write_pngs(data, root / "pngs")
    print(f"\nbest: {trained.arch}, {len(pngs)} test images\n")
    print("| format | export s | file KB | max abs logit diff | predict images/s | same class |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for fmt in FORMATS:
        out = (
            root
            / "out"
            / {"pytorch": "best.py", "torchscript": "best.ts", "onnx": "best.onnx"}[fmt]
        )
        start = time.perf_counter()
        files = export_model(run, fmt, out)
        seconds = time.perf_counter() - start
        size = sum(f.stat().st_size for f in files if f.suffix != ".json") / 1024
        _, model = load_exported(out)
        diff = float(np.abs(model(data.x_test) - expected).max())
        start = time.perf_counter()
        found = predict(out, pngs)
        rate = len(pngs) / (time.perf_counter() - start)
        same = np.mean([p.label == int(e.argmax()) for p, e in zip(found, expected, strict=True)])
        print(f"| {fmt} | {seconds:.2f} | {size:.0f} | {diff:.1e} | {rate:.0f} | {same:.1%} |")


def write_pngs(data, folder: Path) -> list[Path]:
    """The test split as 8-bit grey PNGs (digits are 0..16, scaled to 0..255)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    mean, std = torch.tensor(data.mean).view(1, -1, 1, 1), torch.tensor(data.std).view(1, -1, 1, 1)
    pixels = ((data.x_test * std + mean) * 255).round().clamp(0, 255).to(torch.uint8)
    paths = []
    for i, image in enumerate(pixels[:, 0].numpy()):
        path = folder / f"{i:04d}.png"
        Image.fromarray(image).save(path)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budgets", default="100,500,2000", help="fake runs' model counts")
    parser.add_argument("--search-budget", type=int, default=20, help="digits search models")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        report_costs([int(b) for b in args.budgets.split(",")], args.seed, root)
        export_agreement(args.search_budget, args.epochs, args.seed, root)


if __name__ == "__main__":
    main()
