"""Answers from a table of pre-trained architectures: strategy comparisons in seconds.

A table (``rlnas/evaluation/tables/<name>.json.gz``, made by ``benchmarks/make_table.py``)
holds, for every architecture of one small space, the per-epoch validation and test
accuracy of 2 training seeds, params, FLOPs and training seconds. The evaluator returns
the recorded numbers instantly; ``EvalResult.seconds`` is the recorded training time, so
a search's simulated cost can be summed as if it had trained for real.

A shortlist re-ranks by the mean over the table's training seeds of the best validation
accuracy: a less noisy measurement than the search's one run, as a real shortlist's
longer training is. It averages the seeds' noise, not the split's: both seeds share one
validation split (within the 10 best of a 100-model random search, the search's order
ranks the test accuracy with Spearman 0.64, the shortlist's with 0.79, mean of 30 seeds;
see RESULTS.md, "What the digits table can measure").
"""

from __future__ import annotations

import gzip
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from rlnas.arch import Architecture
from rlnas.evaluation.base import Evaluator
from rlnas.evaluation.pruning import StopRule
from rlnas.results import EvalResult, FinalScore, ShortlistScore, TrialStatus

__all__ = ["TABLE_DIR", "TabularEvaluator", "load_table", "table_names"]

TABLE_DIR = Path(__file__).parent / "tables"


def table_names() -> list[str]:
    return sorted(p.name.removesuffix(".json.gz") for p in TABLE_DIR.glob("*.json.gz"))


@cache
def load_table(name: str) -> dict[str, Any]:
    """The table ``name`` (cached); ``ValueError`` naming the tables there are."""
    path = TABLE_DIR / f"{name}.json.gz"
    if not path.is_file():
        raise ValueError(
            f"no tabular benchmark {name!r}; available: {', '.join(table_names()) or 'none'}"
        )
    with gzip.open(path, "rt") as f:
        table: dict[str, Any] = json.load(f)
    return table


class TabularEvaluator(Evaluator):
    """Looks results up in the table ``name`` instead of training.

    ``evaluate(arch, seed)`` returns the run of table seed ``seed % seeds``: the validation
    curve, its best value as ``val_acc``, the recorded status and seconds. The test accuracy
    of an architecture (for regret) is the mean over seeds of its last-epoch test accuracy.
    :meth:`shortlist_score` averages the table's seeds.
    """

    can_shortlist = True

    def __init__(self, name: str = "digits-tiny") -> None:
        self.name = name
        self.table = load_table(name)
        self.archs: dict[str, Any] = self.table["architectures"]
        self.space = str(self.table["space"])
        self.num_classes = int(self.table["num_classes"])
        c, h, w = self.table["input_shape"]
        self.input_shape = (int(c), int(h), int(w))

    @property
    def fingerprint(self) -> str:
        text = f"tabular|{self.name}|{self.table['evaluator_fingerprint']}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _entry(self, arch: Architecture | str) -> dict[str, Any]:
        entry = self.archs.get(str(arch))
        if entry is None:
            raise ValueError(f"{arch} is not in the {self.name} table ({self.space} space)")
        return entry

    def evaluate(
        self, arch: Architecture, seed: int, *, prune: StopRule | None = None
    ) -> EvalResult:
        """The recorded run; with ``prune``, the curve cut where the rule stops it and the
        seconds scaled to the epochs trained."""
        entry = self._entry(arch)
        run = entry["runs"][seed % len(entry["runs"])]
        curve = tuple(run["val"])
        status = TrialStatus(run["status"])
        seconds = float(run["seconds"])
        if prune is not None and status is TrialStatus.OK:
            for epoch in range(len(curve)):
                if prune.should_stop(epoch, curve[: epoch + 1]):
                    seconds *= (epoch + 1) / len(curve)
                    curve, status = curve[: epoch + 1], TrialStatus.PRUNED
                    break
        return EvalResult(
            status,
            val_acc=max(curve),
            num_classes=self.num_classes,
            params=entry["params"],
            flops=entry["flops"],
            seconds=seconds,
            val_curve=curve,
            epochs=len(curve),
            restarts=run["restarts"],
            error=run["error"],
            extra={"tabular": self.name},
        )

    def shortlist_score(self, arch: Architecture, seed: int, epochs: int) -> ShortlistScore:
        """The mean over the table's seeds of the best validation accuracy in the first
        ``epochs`` (at most the table's), whatever ``seed``: the architecture trained with
        every seed; the seconds are those runs' (scaled to the epochs). Failed runs count
        with their curves (no better than chance); failed when every run failed."""
        runs = self._entry(arch)["runs"]
        used = min(epochs, int(self.table["epochs"]))
        val_acc = sum(max(r["val"][:used], default=0.0) for r in runs) / len(runs)
        seconds = sum(r["seconds"] * min(used, len(r["val"])) / len(r["val"]) for r in runs)
        failed = None
        if all(r["status"] != TrialStatus.OK.value for r in runs):
            failed = runs[0]["error"] or "every run in the table failed"
        return ShortlistScore(val_acc, used, seconds, failed)

    def test_acc(self, arch: Architecture | str) -> float:
        """Mean over seeds of the last-epoch test accuracy (chance for failed runs)."""
        runs = self._entry(arch)["runs"]
        return sum(r["test"][-1] if r["test"] else 1 / self.num_classes for r in runs) / len(runs)

    def best_test_acc(self) -> float:
        """The best test accuracy of any architecture in the table: regret's reference."""
        return max(self.test_acc(a) for a in self.archs)

    def final(
        self, arch: Architecture, seed: int, epochs: int, *, save_to: Path | None = None
    ) -> FinalScore:
        """The table's test accuracy; nothing is trained or saved."""
        seconds = sum(r["seconds"] for r in self._entry(arch)["runs"]) / 2
        return FinalScore(self.test_acc(arch), int(self.table["epochs"]), seconds)
