"""Classify image files with a model `rlnas export` wrote, and the manifest that describes
such a model. Needs only torch, numpy and Pillow (and onnxruntime for ONNX files), never the
search machinery.

>>> manifest_path("out/best.onnx")
PosixPath('out/best.onnx.json')
"""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch loads with a model, not when the CLI names ExportError
    import torch

__all__ = [
    "ExportError",
    "Manifest",
    "Prediction",
    "Preprocessing",
    "load_exported",
    "manifest_path",
    "predict",
    "read_images",
]


class ExportError(ValueError):
    """A model cannot be exported or used as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Preprocessing:
    """How an image file becomes the network's input, as :mod:`rlnas.data` made the
    training data: convert to ``color`` ("L" or "RGB"), resize to ``input_shape``'s H x W
    with Pillow's default (bicubic) filter, divide 8-bit values by ``scale``, then
    ``(x - mean) / std`` per channel."""

    input_shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    scale: float = 255.0

    @property
    def color(self) -> str:
        return "L" if self.input_shape[0] == 1 else "RGB"


@dataclass(frozen=True)
class Manifest:
    """What is written beside an exported model (``<file>.json``)."""

    format: str
    #: File names, relative to the manifest's folder: the model (the ``.py`` module for
    #: ``pytorch``) and, for ``pytorch``, the state dict.
    model: str
    weights: str | None
    architecture: str
    family: str
    dataset: str
    classes: tuple[str, ...]
    preprocessing: Preprocessing
    build: dict[str, Any]
    metrics: dict[str, Any]
    #: The run's seed and the training seed of this architecture (``trial_seed``).
    seed: int
    training_seed: int
    rank: int
    trial: int
    run: str
    versions: dict[str, str]
    created: str = ""
    #: Predict from the mean class probabilities of each image and its left-right mirror,
    #: as the final test did (the final recipe's ``test_flip``).
    test_flip: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        pre = data.pop("preprocessing")
        pre["input_shape"] = tuple(pre["input_shape"])
        pre["mean"], pre["std"] = tuple(pre["mean"]), tuple(pre["std"])
        data["classes"] = tuple(data["classes"])
        return cls(preprocessing=Preprocessing(**pre), **data)


def manifest_path(model_file: str | Path) -> Path:
    """Where the manifest of an exported file is: ``model.onnx`` -> ``model.onnx.json``.

    For a ``pytorch`` export, pass the ``.py`` module (its state dict ``.pt`` is named in
    the manifest).
    """
    path = Path(model_file)
    return path.with_name(f"{path.name}.json")


@dataclass(frozen=True)
class Prediction:
    """The classes of one image, most likely first: (class name, probability) pairs."""

    path: str
    label: int
    name: str
    probability: float
    top: tuple[tuple[str, float], ...] = field(default_factory=tuple)


def read_images(paths: Sequence[str | Path], pre: Preprocessing) -> torch.Tensor:
    """Image files -> the normalised ``(N, C, H, W)`` float32 input ``pre`` describes."""
    import torch
    from PIL import Image, UnidentifiedImageError

    c, h, w = pre.input_shape
    arrays = []
    for path in paths:
        try:
            with Image.open(path) as file:
                image = file.convert(pre.color)
            if image.size != (w, h):
                image = image.resize((w, h))
            arrays.append(np.asarray(image, dtype=np.float32).reshape(h, w, c))
        except (OSError, UnidentifiedImageError) as error:
            raise ExportError(f"cannot read image {path} ({error})") from None
    x = torch.from_numpy(np.stack(arrays).transpose(0, 3, 1, 2).copy()) / pre.scale
    mean = torch.tensor(pre.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(pre.std, dtype=torch.float32).view(1, -1, 1, 1)
    return (x - mean) / std  # (N, C, H, W)


def load_exported(model_file: str | Path) -> tuple[Manifest, Callable[[torch.Tensor], np.ndarray]]:
    """The manifest of an exported model and a function from input batch to logits."""
    model_file = Path(model_file)
    path = manifest_path(model_file)
    if not path.is_file() and manifest_path(model_file.with_suffix(".py")).is_file():
        path = manifest_path(model_file.with_suffix(".py"))  # the state dict of a module
    if not path.is_file():
        raise ExportError(
            f"no manifest {path.name} beside {model_file}: pass a file `rlnas export` wrote"
        )
    manifest = Manifest.from_json(path.read_text())
    model = path.parent / manifest.model
    if not model.is_file():
        raise ExportError(f"{model} named by {path} does not exist")
    if manifest.format == "pytorch":
        return manifest, _torch_runner(_import_module(model).load())
    if manifest.format == "torchscript":
        import torch

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # see rlnas.export
            return manifest, _torch_runner(torch.jit.load(str(model), map_location="cpu"))
    try:
        import onnxruntime
    except ImportError:
        raise ExportError("ONNX models need onnxruntime: pip install onnxruntime") from None
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return manifest, lambda x: np.asarray(session.run(None, {name: x.numpy()})[0])


def _torch_runner(model: Any) -> Callable[[torch.Tensor], np.ndarray]:
    import torch

    def run(x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            logits: np.ndarray = model(x).numpy()
            return logits

    return run


def _import_module(path: Path) -> Any:
    name = f"_rlnas_exported_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py path always has one
        raise ExportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def predict(
    model_file: str | Path, images: Sequence[str | Path], *, top: int = 1
) -> list[Prediction]:
    """Classify image files with an exported model, preprocessing them as its manifest says."""
    import torch

    if not images:
        raise ExportError("no images given")
    manifest, run = load_exported(model_file)
    x = read_images(images, manifest.preprocessing)  # (N, C, H, W)
    probabilities = torch.softmax(torch.from_numpy(run(x)).double(), dim=1)
    if manifest.test_flip:
        mirrored = torch.softmax(torch.from_numpy(run(x.flip(3).contiguous())).double(), dim=1)
        probabilities = (probabilities + mirrored) / 2
    out = []
    for path, p in zip(images, probabilities, strict=True):
        order = torch.argsort(p, descending=True)[: max(top, 1)].tolist()
        best = order[0]
        pairs = tuple((manifest.classes[i], float(p[i])) for i in order)
        out.append(Prediction(str(path), best, manifest.classes[best], float(p[best]), pairs))
    return out
