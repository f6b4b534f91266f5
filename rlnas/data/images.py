"""Image data-set loaders: digits (embedded), MNIST and Fashion-MNIST (IDX), CIFAR-10,
``npz:PATH`` and ``folder:PATH``.

Every loader reads uint8-or-float arrays in NCHW with integer labels; :func:`_finish`
scales them to [0, 1], normalises per channel with the training portion's mean and
standard deviation, and returns torch tensors.
"""

from __future__ import annotations

import gzip
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rlnas.data.base import (
    Dataset,
    DatasetError,
    DatasetInfo,
    cache_dir,
    stratified_indices,
    system_dir,
)

__all__ = ["IMAGE_LOADERS", "IMAGE_SUFFIXES", "list_image_datasets", "read_idx"]

_Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


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
    import torch

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
    return [*dirs, system_dir() / name]


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
    root = data_dir or cache_dir()
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
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise DatasetError(f"{path} is not a readable .npz file ({error})") from None
    if "x" not in arrays or "y" not in arrays:
        raise DatasetError(f"{path} must hold arrays 'x' and 'y' (found {sorted(arrays)})")
    x, y = _nchw(arrays["x"], str(path)), arrays["y"].reshape(-1)
    if len(x) != len(y):
        raise DatasetError(f"{path}: {len(x)} images but {len(y)} labels")
    if not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(f"{path}: labels 'y' must be integers, got {y.dtype}")
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


# ---------------------------------------------------------------- what is here

_HOW = {
    "mnist": "put the IDX files in --data-dir, or pip install torchvision and allow downloads",
    "fashion-mnist": "apt-get install dataset-fashion-mnist, put the IDX files in --data-dir, "
    "or pip install torchvision and allow downloads",
    "cifar10": "put cifar-10-batches-py in --data-dir, "
    "or pip install torchvision and allow downloads",
}

#: Named image data sets: name -> ``loader(data_dir, download)``.
IMAGE_LOADERS: dict[str, Callable[[Path | None, bool], Dataset]] = {
    "digits": lambda data_dir, download: _digits(),
    "mnist": lambda data_dir, download: _idx("mnist", data_dir, download),
    "fashion-mnist": lambda data_dir, download: _idx("fashion-mnist", data_dir, download),
    "cifar10": lambda data_dir, download: _cifar("cifar10", data_dir, download),
}
#: Image data sets named by a path: prefix -> ``loader(path)``.
PATH_LOADERS: dict[str, Callable[[str], Dataset]] = {
    "npz:": lambda p: _npz(p),
    "folder:": lambda p: _folder(p),
}


def list_image_datasets(data_dir: Path | None) -> list[DatasetInfo]:
    """The image lines of `rlnas datasets`: each named data set, whether it is here, where."""
    infos = [DatasetInfo("digits", True, "scikit-learn (embedded)", "")]
    for name in ("mnist", "fashion-mnist"):
        found = next(
            (
                str(d)
                for d in _idx_dirs(name, data_dir)
                if all(_find(d, s) for s in IDX_FILES.values())
            ),
            None,
        )
        infos.append(DatasetInfo(name, found is not None, found or "", _HOW[name]))
    cifar = [data_dir / "cifar-10-batches-py", data_dir] if data_dir else []
    found_c = next((str(d) for d in cifar if (d / "test_batch").is_file()), None)
    infos.append(DatasetInfo("cifar10", found_c is not None, found_c or "", _HOW["cifar10"]))
    infos.append(DatasetInfo("npz:PATH", True, "arrays x, y [, x_test, y_test]", ""))
    infos.append(DatasetInfo("folder:PATH", True, "one sub-folder of images per class", ""))
    return infos
