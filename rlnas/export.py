"""Get a trained model out of a run: standalone PyTorch source and state dict, TorchScript,
or ONNX, each with a manifest beside it (:mod:`rlnas.predict` uses them).

The weights come from the search's final retraining (``RUN/models/<model_id>.pt``, the top
``top_k`` architectures); another rank can be retrained on demand (``train=True``), exactly
as the search would have. The manifest (``<file>.json``) records what a user of
the file needs: architecture, data set, class names, preprocessing, metrics, seeds and
library versions. :func:`rlnas.predict.predict` reads only the exported files and the
manifest.
"""

from __future__ import annotations

import contextlib
import io
import logging
import platform
import time
import warnings
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rlnas.arch import Architecture, parse
from rlnas.config import SearchConfig
from rlnas.data import load_dataset
from rlnas.nn import BuildOptions, build
from rlnas.nn.source import SourceError, network_source
from rlnas.predict import ExportError, Manifest, Preprocessing, manifest_path
from rlnas.results import trial_seed
from rlnas.runs import leaderboard, model_id, open_run
from rlnas.search.components import build_evaluator
from rlnas.store import FinalRecord, Store, TrialRecord

__all__ = [
    "FORMATS",
    "ExportError",
    "Manifest",
    "Preprocessing",
    "TrainedModel",
    "export_model",
    "load_trained",
    "manifest_path",
]

FORMATS = ("pytorch", "torchscript", "onnx")

#: Class names of the named data sets, by label index.
CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "digits": tuple("0123456789"),
    "mnist": tuple("0123456789"),
    "fashion-mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
    "cifar10": (
        "airplane", "automobile", "bird", "cat", "deer",
        "dog", "frog", "horse", "ship", "truck",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class TrainedModel:
    """A run's trained model of one leaderboard rank, on the CPU in eval mode."""

    arch: Architecture
    trial: TrialRecord
    rank: int
    model: nn.Module
    weights: Path
    config: dict[str, Any]
    preprocessing: Preprocessing
    classes: tuple[str, ...]
    build: BuildOptions
    test_acc: float | None = None
    #: Its test accuracy is of each image and its mirror (the final recipe's ``test_flip``).
    test_flip: bool = False


def load_trained(run_dir: str | Path, rank: int = 1, *, train: bool = False) -> TrainedModel:
    """The trained model of leaderboard ``rank`` (1 = best: the first of the retrained) of a
    run.

    Raises :class:`ExportError` when the rank does not exist, its trial failed, or it has
    no saved weights (only the top ``top_k`` are retrained by the search) and ``train``
    is False; with ``train`` the architecture is retrained as the search's final training
    does (train+validation, ``final_epochs``, the same seed) and recorded in the run.
    """
    run = Path(run_dir)
    config, trials, finals = open_run(run)
    ranked = leaderboard(trials, finals)
    if not 1 <= rank <= len(ranked):
        raise ExportError(f"{run} has {len(ranked)} architectures; choose --rank 1..{len(ranked)}")
    trial = ranked[rank - 1]
    if not trial.result.ok:
        raise ExportError(
            f"rank {rank} ({trial.arch}) did not train ({trial.result.status.value}: "
            f"{trial.result.error}); choose another --rank"
        )
    weights = run / "models" / f"{model_id(trial.arch)}.pt"
    if not weights.is_file():
        if not train:
            raise ExportError(
                f"rank {rank} ({trial.arch}) has no trained weights in {run / 'models'}: the "
                f"search retrains only its top {config.get('top_k')}; pass --train to train "
                f"it now ({config.get('final_epochs')} epochs on train+validation)"
            )
        _train_final(run, config, trial, rank, weights)
        finals = open_run(run)[2]
    dataset = load_dataset(config["dataset"], config.get("data_dir"))
    options = BuildOptions(**config.get("train_settings", {}).get("build", {}))
    arch = parse(trial.arch)
    model = build(arch, dataset.input_shape, dataset.num_classes, options)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    names = _class_names(config["dataset"], dataset.num_classes)
    pre = Preprocessing(dataset.input_shape, dataset.mean, dataset.std)
    final = next((f for f in finals if f.arch == trial.arch), None)
    test = final.test_acc if final else None
    flip = bool(final and (final.result.get("recipe") or {}).get("test_flip"))
    return TrainedModel(
        arch, trial, rank, model.eval(), weights, config, pre, names, options, test, flip
    )


def _train_final(
    run: Path, config: dict[str, Any], trial: TrialRecord, rank: int, weights: Path
) -> None:
    """Retrain like :meth:`rlnas.search._Loop.final_training` and record the final score."""
    search = SearchConfig.from_dict(config, source=f"{run}/trials.db")
    evaluator = build_evaluator(search)
    arch = parse(trial.arch)
    score = evaluator.final(
        arch, trial_seed(search.seed, trial.arch), search.final_epochs, save_to=weights
    )
    if score.failed or not weights.is_file():
        raise ExportError(f"training {trial.arch} gave no model ({score.failed or 'no weights'})")
    record = FinalRecord(
        trial.arch, rank, trial.result.val_acc, score.test_acc, score.epochs, score.seconds,
        {"failed": score.failed, "train_loss": list(score.train_loss), "recipe": score.recipe,
         "metrics": dict(score.metrics), "on_demand": True},
    )  # fmt: skip
    with Store(run / "trials.db") as store:
        store.add_final(record)


def _class_names(dataset: str, num_classes: int) -> tuple[str, ...]:
    names = CLASS_NAMES.get(dataset)
    if dataset.startswith("folder:"):  # the loader's label order: sorted class folders
        root = Path(dataset.removeprefix("folder:"))
        if (root / "train").is_dir() and (root / "test").is_dir():
            root = root / "train"
        if root.is_dir():
            names = tuple(sorted(d.name for d in root.iterdir() if d.is_dir()))
    if names is None or len(names) != num_classes:
        return tuple(str(i) for i in range(num_classes))
    return names


def export_model(
    run_dir: str | Path, fmt: str, out: str | Path, *, rank: int = 1, train: bool = False
) -> list[Path]:
    """Export rank ``rank`` of a run as ``fmt`` to ``out``; return the files written
    (model, [state dict,] manifest). See :data:`FORMATS`."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out)
    if fmt == "pytorch" and out.suffix != ".py":
        raise ExportError(f"--format pytorch writes a Python module: name it *.py, not {out}")
    trained = load_trained(run_dir, rank, train=train)
    out.parent.mkdir(parents=True, exist_ok=True)
    c, h, w = trained.preprocessing.input_shape
    example = torch.zeros(2, c, h, w)
    weights: Path | None = None
    if fmt == "pytorch":
        weights = out.with_suffix(".pt")
        try:
            source = network_source(trained.arch, trained.model)
        except SourceError as error:  # e.g. a family with skips and no source generator
            raise ExportError(str(error)) from None
        out.write_text(_module_text(trained, source, weights.name))
        state = {k: v.contiguous() for k, v in trained.model.state_dict().items()}
        torch.save(state, weights)
    elif fmt == "torchscript":
        # TorchScript is deprecated upstream (torch >= 2.10) but still what many serving
        # stacks load; tracing covers every family, whatever Python its forward uses.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            traced = torch.jit.trace(trained.model, example)
        traced.save(str(out))
    else:
        _export_onnx(trained.model, example, out)
    manifest = _manifest(trained, fmt, out, weights)
    manifest_path(out).write_text(manifest.to_json())
    return [p for p in (out, weights, manifest_path(out)) if p is not None]


def _export_onnx(model: nn.Module, example: torch.Tensor, out: Path) -> None:
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        raise ExportError(
            "--format onnx needs the onnx and onnxscript packages: pip install 'rlnas[onnx]'"
        ) from None
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the exporter logs every optional op it skips
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                model, (example,), dynamo=True, verbose=False,
                input_names=["images"], output_names=["logits"],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
            )  # fmt: skip
    finally:
        quiet.setLevel(level)
    if program is None:  # pragma: no cover - torch returns the program when no file is given
        raise ExportError("the ONNX exporter returned nothing")
    program.save(str(out))


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("rlnas", "torch", "numpy", "onnx", "onnxscript", "onnxruntime", "pillow"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def _manifest(trained: TrainedModel, fmt: str, out: Path, weights: Path | None) -> Manifest:
    result, config = trained.trial.result, trained.config
    metrics = {
        "val_acc": result.val_acc,
        "test_acc": trained.test_acc,
        "reward": trained.trial.reward,
        "params": result.params,
        "flops": result.flops,
        "latency_ms": result.latency_ms,
        "search_epochs": result.epochs,
        "final_epochs": config.get("final_epochs"),
    }
    return Manifest(
        format=fmt,
        model=out.name,
        weights=weights.name if weights else None,
        architecture=str(trained.arch),
        family=trained.arch.family,
        dataset=config["dataset"],
        classes=trained.classes,
        preprocessing=trained.preprocessing,
        build=asdict(trained.build),
        metrics=metrics,
        seed=int(config.get("seed", 0)),
        training_seed=trial_seed(int(config.get("seed", 0)), trained.trial.arch),
        rank=trained.rank,
        trial=trained.trial.id,
        run=str(Path(config.get("run_dir") or "")),
        versions=_versions(),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        test_flip=trained.test_flip,
    )


def _module_text(trained: TrainedModel, class_source: str, weights_name: str) -> str:
    pre = trained.preprocessing
    test = f"{trained.test_acc:.4f}" if trained.test_acc is not None else "not measured"
    if trained.test_flip and trained.test_acc is not None:
        test += " (mean probabilities of each image and its left-right mirror)"
    return f'''"""{trained.arch}: a network found by rlnas, in plain PyTorch (no rlnas needed).

Data set {trained.config["dataset"]}, rank {trained.rank} of the search (trial {trained.trial.id}):
validation accuracy {trained.trial.result.val_acc:.4f}, test accuracy {test}.
The trained weights are {weights_name}, beside this file. Usage:

    model = load()
    logits = model(preprocess(images))  # images: uint8 (B, C, H, W) of size INPUT_SHAPE
"""

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

ARCHITECTURE = "{trained.arch}"
#: Per-image input (C, H, W): resize other images to this size first.
INPUT_SHAPE = {pre.input_shape!r}
#: Class name of each output index.
CLASSES = {trained.classes!r}
#: Preprocessing: 8-bit pixel values / {pre.scale:g}, then (x - MEAN) / STD per channel.
MEAN = {pre.mean!r}
STD = {pre.std!r}
WEIGHTS = Path(__file__).with_name("{weights_name}")


{class_source}

def preprocess(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (B, C, H, W) -> the normalised float input of Network."""
    x = images.to(torch.float32) / {pre.scale!r}
    mean = torch.tensor(MEAN).view(1, -1, 1, 1)
    std = torch.tensor(STD).view(1, -1, 1, 1)
    return (x - mean) / std


def load(weights: str | Path = WEIGHTS, map_location: str = "cpu") -> Network:
    """The trained Network, in eval mode."""
    model = Network()
    model.load_state_dict(torch.load(weights, map_location=map_location, weights_only=True))
    return model.eval()
'''
