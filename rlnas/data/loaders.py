"""Data-set loaders and the registry: name -> in-memory tensors, with clear errors.

Every loader returns uint8-or-float arrays in NCHW with integer labels; :func:`load_dataset`
scales to [0, 1], normalises per channel with the training portion's mean and standard
deviation, and returns torch tensors.
"""

from __future__ import annotations

import gzip
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "SYSTEM_DIR",
    "Dataset",
    "DatasetError",
    "DatasetInfo",
    "Split",
    "list_datasets",
    "load_dataset",
    "split_dataset",
]

#: Where Debian's dataset packages (e.g. dataset-fashion-mnist) install their files.
SYSTEM_DIR = Path("/usr/share/datasets")
#: Where torchvision downloads go when no --data-dir is given.
CACHE_DIR = Path.home() / ".cache" / "rlnas"


class DatasetError(ValueError):
    """A data set is missing or malformed; the message says where it looked and what to do."""


@dataclass(frozen=True)
class Dataset:
    """A whole data set in memory: normalised float32 NCHW images and int64 labels."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    source: str
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        c, h, w = self.x_train.shape[1:]
        return (int(c), int(h), int(w))


@dataclass(frozen=True)
class Split:
    """Train / validation / test tensors; validation is carved out of the training data."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, int, int]:
        c, h, w = self.x_train.shape[1:]
        return (int(c), int(h), int(w))


@dataclass(frozen=True)
class DatasetInfo:
    """One line of `rlnas datasets`."""

    name: str
    available: bool
    where: str
    how_to_get: str


_Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


# ---------------------------------------------------------------- splitting helpers


def stratified_indices(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified split: (kept, held out) index arrays, each sorted."""
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        idx = idx[rng.permutation(len(idx))]
        take = round(len(idx) * fraction)
        if len(idx) > 1:
            take = min(max(take, 1), len(idx) - 1)
        held.append(idx[:take])
    out = np.sort(np.concatenate(held)) if held else np.array([], dtype=np.int64)
    keep = np.setdiff1d(np.arange(len(labels)), out)
    return keep, out


def split_dataset(
    ds: Dataset, val_fraction: float = 0.2, seed: int = 0, *, subset: int | None = None
) -> Split:
    """Hold out a stratified ``val_fraction`` of the training data for validation.

    With ``subset``, first keep a stratified ``subset`` of the training data (cheap
    search-time evaluation), then split that. Deterministic: the same seed gives the same
    split. The test split is untouched.
    """
    if not 0 < val_fraction < 1:
        raise DatasetError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    pool = np.arange(len(ds.y_train))
    if subset is not None and subset < len(pool):
        if subset < 2 * ds.num_classes:
            raise DatasetError(f"subset={subset} is too small for {ds.num_classes} classes")
        _, pool = stratified_indices(ds.y_train.numpy(), subset / len(pool), seed + 1)
    keep, held = stratified_indices(ds.y_train.numpy()[pool], val_fraction, seed)
    k, h = torch.from_numpy(pool[keep]), torch.from_numpy(pool[held])
    return Split(
        ds.name, ds.x_train[k], ds.y_train[k], ds.x_train[h], ds.y_train[h],
        ds.x_test, ds.y_test, ds.num_classes,
    )  # fmt: skip


def _nchw(x: np.ndarray, what: str) -> np.ndarray:
    if x.ndim == 3:
        return x[:, None, :, :]
    if x.ndim == 4:
        if x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
            return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        return x
    raise DatasetError(f"{what}: images must be (N,H,W), (N,H,W,C) or (N,C,H,W), got {x.shape}")


def _to_unit(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    x = x.astype(np.float32)
    top = float(x.max()) if x.size else 1.0
    return x / top if top > 1.0 else x


def _finish(name: str, source: str, arrays: _Arrays, *, scale: float | None = None) -> Dataset:
    x_train, y_train, x_test, y_test = arrays
    x_train, x_test = _nchw(x_train, name), _nchw(x_test, name)
    if scale is not None:
        x_train, x_test = x_train.astype(np.float32) / scale, x_test.astype(np.float32) / scale
    else:
        x_train, x_test = _to_unit(x_train), _to_unit(x_test)
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise DatasetError(f"{name}: {len(x_train)} images but {len(y_train)} labels in {source}")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DatasetError(f"{name}: train images {x_train.shape[1:]} but test {x_test.shape[1:]}")
    if not np.issubdtype(y_train.dtype, np.integer) or not np.issubdtype(y_test.dtype, np.integer):
        raise DatasetError(f"{name}: labels must be integers in {source}")
    classes, y_all = np.unique(np.concatenate([y_train, y_test]), return_inverse=True)
    if len(classes) < 2:
        raise DatasetError(f"{name}: needs at least 2 classes, found {len(classes)} in {source}")
    y_train, y_test = y_all[: len(y_train)], y_all[len(y_train) :]
    mean = x_train.mean(axis=(0, 2, 3))
    std = x_train.std(axis=(0, 2, 3)) + 1e-8
    norm = lambda x: (x - mean[None, :, None, None]) / std[None, :, None, None]  # noqa: E731
    return Dataset(
        name,
        torch.from_numpy(np.ascontiguousarray(norm(x_train), dtype=np.float32)),
        torch.from_numpy(y_train.astype(np.int64)),
        torch.from_numpy(np.ascontiguousarray(norm(x_test), dtype=np.float32)),
        torch.from_numpy(y_test.astype(np.int64)),
        len(classes),
        source,
        tuple(float(m) for m in mean),
        tuple(float(s) for s in std),
    )


def _holdout(x: np.ndarray, y: np.ndarray, seed: int = 12345) -> _Arrays:
    """A fixed 80/20 stratified train/test split for data sets that ship no test set."""
    keep, held = stratified_indices(y, 0.2, seed)
    return x[keep], y[keep], x[held], y[held]


# ---------------------------------------------------------------- loaders


def _digits() -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    return _finish("digits", "scikit-learn (embedded)", _holdout(d.images, d.target), scale=16.0)


IDX_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped), validating magic number and sizes."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as error:
        raise DatasetError(f"cannot read IDX file {path}: {error}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DatasetError(f"{path} is not an IDX file of unsigned bytes (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path} is truncated (header)")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = int(np.prod(dims))
    if len(data) - header != expected:
        raise DatasetError(
            f"{path} is truncated or malformed: {len(data) - header} bytes of data, "
            f"expected {expected} for shape {tuple(dims)}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _idx_dirs(name: str, data_dir: Path | None) -> list[Path]:
    dirs = [data_dir, data_dir / name] if data_dir else []
    return [*dirs, SYSTEM_DIR / name]


def _idx(name: str, data_dir: Path | None, download: bool) -> Dataset:
    for folder in _idx_dirs(name, data_dir):
        paths = {key: _find(folder, stem) for key, stem in IDX_FILES.items()}
        if all(paths.values()):
            arrays = tuple(read_idx(p) for p in paths.values() if p is not None)
            return _finish(name, str(folder), arrays)  # type: ignore[arg-type]
    if download:
        return _torchvision(name, data_dir)
    looked = ", ".join(str(d) for d in _idx_dirs(name, data_dir))
    raise DatasetError(f"{name} not found (looked in {looked}); {_HOW[name]}")


def _torchvision(name: str, data_dir: Path | None) -> Dataset:
    try:
        import torchvision.datasets as tvd
    except ImportError:
        raise DatasetError(
            f"{name} not found and torchvision is not installed; {_HOW[name]}"
        ) from None
    cls = {"mnist": tvd.MNIST, "fashion-mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10}[name]
    root = data_dir or CACHE_DIR
    try:
        train, test = (
            cls(str(root), train=True, download=True),
            cls(str(root), train=False, download=True),
        )
    except Exception as error:  # network or disk: report it as a data problem
        raise DatasetError(
            f"downloading {name} into {root} failed ({error}); {_HOW[name]}"
        ) from None
    arrays = tuple(np.asarray(a) for a in (train.data, train.targets, test.data, test.targets))
    return _finish(name, f"{root} (torchvision)", arrays)  # type: ignore[arg-type]


def _cifar(name: str, data_dir: Path | None, download: bool) -> Dataset:
    dirs = [data_dir / "cifar-10-batches-py", data_dir] if data_dir else []
    for folder in dirs:
        if (folder / "test_batch").is_file():
            return _finish(name, str(folder), _read_cifar(folder))
    if download:
        return _torchvision(name, data_dir)
    looked = ", ".join(str(d) for d in dirs) or "nowhere: no --data-dir given"
    raise DatasetError(f"cifar10 not found (looked in {looked}); {_HOW['cifar10']}")


def _read_cifar(folder: Path) -> _Arrays:
    def batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
        try:
            with open(path, "rb") as f:
                d = pickle.load(f, encoding="bytes")
            x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            return x, np.asarray(d[b"labels"], dtype=np.int64)
        except (OSError, KeyError, ValueError, pickle.UnpicklingError, EOFError) as error:
            raise DatasetError(f"{path} is not a CIFAR-10 python batch ({error})") from None

    train_paths = sorted(folder.glob("data_batch_*"))
    if not train_paths:
        raise DatasetError(f"no data_batch_* files in {folder}")
    parts = [batch(p) for p in train_paths]
    x_test, y_test = batch(folder / "test_batch")
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        x_test,
        y_test,
    )


def _npz(path_text: str) -> Dataset:
    path = Path(path_text)
    if not path.is_file():
        raise DatasetError(f"npz file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path} is not a readable .npz file ({error})") from None
    if "x" not in arrays or "y" not in arrays:
        raise DatasetError(f"{path} must hold arrays 'x' and 'y' (found {sorted(arrays)})")
    x, y = arrays["x"], arrays["y"].reshape(-1)
    if len(x) != len(y):
        raise DatasetError(f"{path}: {len(x)} images but {len(y)} labels")
    if not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(f"{path}: labels 'y' must be integers, got {y.dtype}")
    x = _nchw(x, str(path))
    if "x_test" in arrays and "y_test" in arrays:
        parts: _Arrays = (x, y, _nchw(arrays["x_test"], str(path)), arrays["y_test"].reshape(-1))
    else:
        parts = _holdout(x, y)
    return _finish(f"npz:{path}", str(path), parts)


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def _folder(path_text: str) -> Dataset:
    root = Path(path_text)
    if not root.is_dir():
        raise DatasetError(f"image folder {root} does not exist")
    if (root / "train").is_dir() and (root / "test").is_dir():
        classes = sorted(d.name for d in (root / "train").iterdir() if d.is_dir())
        x_tr, y_tr = _read_images(root / "train", classes)
        x_te, y_te = _read_images(root / "test", classes)
        parts: _Arrays = (x_tr, y_tr, x_te, y_te)
    else:
        classes = sorted(d.name for d in root.iterdir() if d.is_dir())
        parts = _holdout(*_read_images(root, classes))
    return _finish(f"folder:{root}", str(root), parts)


def _read_images(root: Path, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image, UnidentifiedImageError

    if len(classes) < 2:
        raise DatasetError(
            f"{root} needs one sub-folder per class (at least 2), found {len(classes)}"
        )
    images, labels = [], []
    for label, cls in enumerate(classes):
        for file in sorted((root / cls).iterdir()):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                try:
                    images.append(Image.open(file))
                except (OSError, UnidentifiedImageError) as error:
                    raise DatasetError(f"cannot read image {file} ({error})") from None
                labels.append(label)
    if not images:
        raise DatasetError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {root}")
    gray = all(im.mode in ("L", "1", "I;16", "I") for im in images)
    sizes = [im.size for im in images]
    size = max(set(sizes), key=sizes.count)  # the most common size; others are resized to it
    arrays = [np.asarray(im.convert("L" if gray else "RGB").resize(size)) for im in images]
    return np.stack(arrays), np.asarray(labels, dtype=np.int64)


# ---------------------------------------------------------------- registry

_HOW = {
    "mnist": "put the IDX files in --data-dir, or pip install torchvision and allow downloads",
    "fashion-mnist": "apt-get install dataset-fashion-mnist, put the IDX files in --data-dir, "
    "or pip install torchvision and allow downloads",
    "cifar10": "put cifar-10-batches-py in --data-dir, "
    "or pip install torchvision and allow downloads",
}

_NAMED: dict[str, Callable[[Path | None, bool], Dataset]] = {
    "digits": lambda data_dir, download: _digits(),
    "mnist": lambda data_dir, download: _idx("mnist", data_dir, download),
    "fashion-mnist": lambda data_dir, download: _idx("fashion-mnist", data_dir, download),
    "cifar10": lambda data_dir, download: _cifar("cifar10", data_dir, download),
}


def load_dataset(
    name: str, data_dir: str | Path | None = None, *, download: bool = False
) -> Dataset:
    """Load ``name`` (digits, mnist, fashion-mnist, cifar10, npz:PATH, folder:PATH), or a
    task derived from one: ``NAME[classes=0-4,size=14]`` (see :mod:`rlnas.data.derived`).

    Files are looked for in ``data_dir`` first, then in Debian's ``/usr/share/datasets``;
    with ``download`` they are fetched through torchvision when it is installed.
    Raises :class:`DatasetError` saying where it looked and how to get the data.
    """
    folder = Path(data_dir) if data_dir else None
    from rlnas.data.derived import is_derived, load_derived

    if is_derived(name):  # NAME[classes=...,size=...]
        return load_derived(name, data_dir, download=download)
    if name.startswith("npz:"):
        return _npz(name[4:])
    if name.startswith("folder:"):
        return _folder(name[7:])
    if name == "ptb" or name.startswith("text:"):
        raise DatasetError(
            f"{name} is a text data set: language models are trained by `rlnas search` "
            "only; this needs an image data set"
        )
    loader = _NAMED.get(name)
    if loader is None:
        raise DatasetError(
            f"unknown data set {name!r}; choose one of {', '.join(_NAMED)}, npz:PATH or folder:PATH"
        )
    return loader(folder, download)


def list_datasets(data_dir: str | Path | None = None) -> list[DatasetInfo]:
    """What `rlnas datasets` prints: each named data set, whether it is here, and where."""
    folder = Path(data_dir) if data_dir else None
    infos = [DatasetInfo("digits", True, "scikit-learn (embedded)", "")]
    for name in ("mnist", "fashion-mnist"):
        found = next(
            (
                str(d)
                for d in _idx_dirs(name, folder)
                if all(_find(d, s) for s in IDX_FILES.values())
            ),
            None,
        )
        infos.append(DatasetInfo(name, found is not None, found or "", _HOW[name]))
    cifar = [folder / "cifar-10-batches-py", folder] if folder else []
    found_c = next((str(d) for d in cifar if (d / "test_batch").is_file()), None)
    infos.append(DatasetInfo("cifar10", found_c is not None, found_c or "", _HOW["cifar10"]))
    infos.append(DatasetInfo("npz:PATH", True, "arrays x, y [, x_test, y_test]", ""))
    infos.append(DatasetInfo("folder:PATH", True, "one sub-folder of images per class", ""))
    infos.append(DatasetInfo("NAME[...]", True, "derived task: [classes=0-4+7,size=14]", ""))
    from rlnas.data.text import list_text_datasets  # text imports this module

    return infos + list_text_datasets(data_dir)
