"""Data sets: digits (embedded), MNIST and Fashion-MNIST (IDX), CIFAR-10, ``npz:PATH``,
``folder:PATH``, derived tasks and text corpora; deterministic splits; everything as
in-memory tensors.

>>> ds = load_dataset("digits")
>>> ds.input_shape, ds.num_classes
((1, 8, 8), 10)
>>> split = split_dataset(ds, val_fraction=0.2, seed=0)
>>> len(split.x_train) + len(split.x_val) == len(ds.x_train)
True
"""

from rlnas.data.base import Dataset, DatasetError, DatasetInfo, Split, split_dataset
from rlnas.data.images import read_idx
from rlnas.data.registry import dataset_names, list_datasets, load_dataset

__all__ = [
    "Dataset",
    "DatasetError",
    "DatasetInfo",
    "Split",
    "dataset_names",
    "list_datasets",
    "load_dataset",
    "read_idx",
    "split_dataset",
]
