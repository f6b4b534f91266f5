"""What every data set is in memory, how training data is split, and where system data
lives. Paths are resolved when asked, never at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch loads when data do, not when a name is checked
    import torch

__all__ = [
    "Dataset",
    "DatasetError",
    "DatasetInfo",
    "Split",
    "cache_dir",
    "split_dataset",
    "stratified_indices",
    "system_dir",
]


def system_dir() -> Path:
    """Where Debian's data-set packages (e.g. dataset-fashion-mnist) install their files:
    ``/usr/share/datasets``, or ``$RLNAS_SYSTEM_DATA`` when set."""
    return Path(os.environ.get("RLNAS_SYSTEM_DATA", "/usr/share/datasets"))


def cache_dir() -> Path:
    """Where torchvision downloads go when no ``--data-dir`` is given."""
    return Path.home() / ".cache" / "rlnas"


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
    import torch

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
