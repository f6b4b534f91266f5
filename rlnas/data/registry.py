"""The data-set registry: a name -> an in-memory data set, and what `rlnas datasets` lists.

Names: the named image data sets of :data:`rlnas.data.images.IMAGE_LOADERS`, images by
path (``npz:PATH``, ``folder:PATH``), tasks derived from any of them
(``NAME[classes=0-4,size=14]``, :mod:`rlnas.data.derived`), and text for language models
(``ptb``, ``text:PATH``, :mod:`rlnas.data.text`). Every "choose one of" list comes from
:func:`dataset_names`, so an error names every kind of data set there is.
"""

from __future__ import annotations

from pathlib import Path

from rlnas.data.base import Dataset, DatasetError, DatasetInfo
from rlnas.data.derived import derive, is_derived, parse_derived
from rlnas.data.images import IMAGE_LOADERS, PATH_LOADERS, list_image_datasets
from rlnas.data.text import TEXT_NAMES, is_text_dataset, list_text_datasets

__all__ = ["dataset_names", "list_datasets", "load_dataset"]

#: How a derived task is written, for lists of names.
DERIVED_NAME = "NAME[classes=0-4,size=14]"


def dataset_names() -> list[str]:
    """Every kind of data-set name, as a user writes it.

    >>> dataset_names()  # doctest: +NORMALIZE_WHITESPACE
    ['digits', 'mnist', 'fashion-mnist', 'cifar10', 'npz:PATH', 'folder:PATH', 'ptb',
     'text:PATH', 'NAME[classes=0-4,size=14]']
    """
    return [*IMAGE_LOADERS, *(f"{p}PATH" for p in PATH_LOADERS), *TEXT_NAMES, DERIVED_NAME]


def load_dataset(
    name: str, data_dir: str | Path | None = None, *, download: bool = False
) -> Dataset:
    """Load the image data set ``name`` (see the module docstring).

    Files are looked for in ``data_dir`` first, then in Debian's ``/usr/share/datasets``;
    with ``download`` they are fetched through torchvision when it is installed.
    Raises :class:`DatasetError` saying where it looked and how to get the data.
    """
    if is_derived(name):  # NAME[classes=...,size=...]
        base = load_dataset(parse_derived(name)[0], data_dir, download=download)
        return derive(base, name)
    for prefix, load in PATH_LOADERS.items():
        if name.startswith(prefix):
            return load(name.removeprefix(prefix))
    if is_text_dataset(name):
        raise DatasetError(
            f"{name} is a text data set: language models are trained by `rlnas search` "
            "only; this needs an image data set"
        )
    loader = IMAGE_LOADERS.get(name)
    if loader is None:
        raise DatasetError(f"unknown data set {name!r}; choose one of {', '.join(dataset_names())}")
    return loader(Path(data_dir) if data_dir else None, download)


def list_datasets(data_dir: str | Path | None = None) -> list[DatasetInfo]:
    """What `rlnas datasets` prints: each kind of data set, whether it is here, and where."""
    folder = Path(data_dir) if data_dir else None
    derived = DatasetInfo("NAME[...]", True, "derived task: [classes=0-4+7,size=14]", "")
    return [*list_image_datasets(folder), derived, *list_text_datasets(folder)]
