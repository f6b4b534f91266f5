"""Derived tasks: ``NAME[classes=SPEC,size=S]`` is data set ``NAME`` restricted to some
classes and/or resized, e.g. for meta-training on related tasks:

- ``classes=SPEC``: keep these labels (of the base data set, 0-based), relabelled 0..k-1 in
  order; ``SPEC`` is numbers and ranges joined by ``+``: ``0-4``, ``1+3+5``, ``0-2+7``.
- ``size=S``: resize every image to S x S (area averaging when shrinking, bilinear when
  growing).

Options may come in any order, each at most once; the result is normalised again with its
own training mean and standard deviation.

>>> from rlnas.data import load_dataset
>>> ds = load_dataset("digits[classes=0-4,size=4]")
>>> ds.name, ds.input_shape, ds.num_classes
('digits[classes=0-4,size=4]', (1, 4, 4), 5)
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

from rlnas.data.base import Dataset, DatasetError

__all__ = ["OPTIONS", "derive", "is_derived", "parse_classes", "parse_derived", "split_names"]

_NAME = re.compile(r"^(?P<base>[^\[\]]+)\[(?P<options>[^\[\]]*)\]$")
#: The options a derived name may set.
OPTIONS = ("classes", "size")


def is_derived(name: str) -> bool:
    return name.endswith("]") and "[" in name


def split_names(text: str) -> list[str]:
    """A comma-separated list of data-set names; commas inside a derived name's brackets
    stay.

    >>> split_names("digits, fashion-mnist[classes=0-4,size=14]")
    ['digits', 'fashion-mnist[classes=0-4,size=14]']
    """
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [p.strip() for p in [*parts, current] if p.strip()]


def parse_classes(spec: str) -> list[int]:
    """``0-2+7`` -> ``[0, 1, 2, 7]``; :class:`DatasetError` for anything else.

    >>> parse_classes("0-2+7")
    [0, 1, 2, 7]
    """
    labels: list[int] = []
    for part in spec.split("+"):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part.strip())
        if not match:
            raise DatasetError(f"classes={spec!r}: use numbers and ranges joined by +, e.g. 0-4+7")
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        if high < low:
            raise DatasetError(f"classes={spec!r}: range {part} runs backwards")
        labels.extend(range(low, high + 1))
    if len(set(labels)) != len(labels):
        raise DatasetError(f"classes={spec!r} names a class twice")
    return labels


def parse_derived(name: str) -> tuple[str, dict[str, str]]:
    """The base data set's name and the options of a derived name; :class:`DatasetError`
    for a malformed one.

    >>> parse_derived("digits[classes=0-4,size=4]")
    ('digits', {'classes': '0-4', 'size': '4'})
    """
    match = _NAME.match(name)
    if not match:
        raise DatasetError(f"{name!r}: write a derived task as NAME[classes=0-4,size=14]")
    options: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in match.group("options").split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in OPTIONS:
            raise DatasetError(f"{name!r}: unknown option {item!r}; use {', '.join(OPTIONS)}")
        if key in options:
            raise DatasetError(f"{name!r}: option {key} given twice")
        options[key] = value.strip()
    return match.group("base").strip(), options


def derive(ds: Dataset, name: str) -> Dataset:
    """The task ``name`` (see the module docstring) derived from its base data set ``ds``."""
    import torch

    base_name, options = parse_derived(name)
    x_train, y_train, x_test, y_test = ds.x_train, ds.y_train, ds.x_test, ds.y_test
    if "classes" in options:
        labels = parse_classes(options["classes"])
        if max(labels) >= ds.num_classes or len(labels) < 2:
            raise DatasetError(
                f"{name!r}: {base_name} has classes 0-{ds.num_classes - 1}; keep at least 2 of them"
            )
        lookup = torch.full((ds.num_classes,), -1, dtype=torch.long)
        lookup[torch.tensor(labels)] = torch.arange(len(labels))
        keep_train, keep_test = lookup[y_train] >= 0, lookup[y_test] >= 0
        x_train, y_train = x_train[keep_train], lookup[y_train[keep_train]]
        x_test, y_test = x_test[keep_test], lookup[y_test[keep_test]]
    if "size" in options:
        if not options["size"].isdigit() or int(options["size"]) < 1:
            raise DatasetError(f"{name!r}: size must be a positive integer")
        side = int(options["size"])
        x_train, x_test = _resize(x_train, side), _resize(x_test, side)
    # normalise again: a subset or a resize shifts the mean and spread
    mean = x_train.mean(dim=(0, 2, 3), keepdim=True)
    std = x_train.std(dim=(0, 2, 3), keepdim=True) + 1e-8
    scale = torch.tensor(ds.std)
    raw_mean = torch.tensor(ds.mean) + scale * mean.flatten()
    return replace(
        ds,
        name=name,
        x_train=((x_train - mean) / std).contiguous(),
        y_train=y_train,
        x_test=((x_test - mean) / std).contiguous(),
        y_test=y_test,
        num_classes=int(max(int(y_train.max()), int(y_test.max())) + 1),
        source=f"{ds.source} (derived: {', '.join(f'{k}={v}' for k, v in options.items())})",
        mean=tuple(float(m) for m in raw_mean),
        std=tuple(float(s) for s in scale * std.flatten()),
    )


def _resize(x: torch.Tensor, side: int) -> torch.Tensor:
    import torch.nn.functional as F

    if side == x.shape[-1] and side == x.shape[-2]:
        return x
    mode = "area" if side <= min(x.shape[-2:]) else "bilinear"
    kwargs = {} if mode == "area" else {"align_corners": False}
    return F.interpolate(x, size=(side, side), mode=mode, **kwargs)  # (N, C, side, side)
