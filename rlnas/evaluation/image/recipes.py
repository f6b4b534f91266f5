"""Training recipes beyond MetaQNN's: batch augmentations and the final models' recipes."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from rlnas.evaluation.image.trainer import TrainConfig

__all__ = ["FINAL_RECIPES", "FLIP_SAFE", "augment_batch", "final_recipe"]


def augment_batch(
    batch: torch.Tensor,
    kinds: frozenset[str],
    shift: int,
    generator: torch.Generator,
    cutout: int = 0,
) -> torch.Tensor:
    """Randomly flip (left-right), translate and/or cut out each image of ``batch``
    (B, C, H, W).

    Translations move each image by up to ``shift`` pixels in each direction, filling with
    zeros (the normalised data's mean). Cutout sets a ``cutout`` x ``cutout`` square,
    centred anywhere in the image (so possibly clipped at its edge), to zero. Random draws
    come from ``generator`` (on the CPU), so training stays reproducible. Labels are
    untouched: only label-preserving transformations belong here.
    """
    b, _, h, w = batch.shape
    if "flip" in kinds:
        flip = (torch.rand(b, generator=generator) < 0.5).to(batch.device)
        batch = torch.where(flip[:, None, None, None], batch.flip(3), batch)
    if "shift" in kinds and shift > 0:
        padded = nn.functional.pad(batch, (shift, shift, shift, shift))  # (B, C, H+2s, W+2s)
        dy, dx = (
            torch.randint(0, 2 * shift + 1, (b,), generator=generator).to(batch.device)
            for _ in range(2)
        )
        rows = (dy[:, None] + torch.arange(h, device=batch.device))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(w, device=batch.device))[:, None, None, :]
        index = torch.arange(b, device=batch.device)[:, None, None, None]
        channel = torch.arange(batch.shape[1], device=batch.device)[None, :, None, None]
        batch = padded[index, channel, rows, cols]  # (B, C, H, W)
    if "cutout" in kinds and cutout > 0:
        cy, cx = (torch.randint(0, n, (b,), generator=generator) for n in (h, w))
        dy = torch.arange(h)[None, :] - (cy - cutout // 2)[:, None]  # (B, H): row - top
        dx = torch.arange(w)[None, :] - (cx - cutout // 2)[:, None]  # (B, W)
        in_rows, in_cols = (dy >= 0) & (dy < cutout), (dx >= 0) & (dx < cutout)
        square = (in_rows[:, :, None] & in_cols[:, None, :]).to(batch.device)  # (B, H, W)
        batch = batch.masked_fill(square[:, None], 0.0)
    return batch.contiguous(memory_format=torch.channels_last)


#: Names of the final-training recipes (``--final-recipe``).
FINAL_RECIPES = ("search", "strong")
#: Data sets whose classes survive a left-right flip (digits do not: flipped 2 is no 2).
FLIP_SAFE = ("fashion-mnist", "cifar10")


def final_recipe(name: str, search: TrainConfig, dataset: str, side: int) -> TrainConfig:
    """The training recipe for the final models of a search on images of side ``side``.

    ``search``: the search-time recipe itself (MetaQNN's). ``strong``: AdamW (lr 3e-3,
    decoupled weight decay 0.05) with a one-cycle schedule, label smoothing 0.1 and
    augmentation: random shifts of up to ``side // 12`` pixels (2 on 28x28; none on 8x8
    digits, where one pixel is an eighth of the image) and left-right flips for the data
    sets in :data:`FLIP_SAFE`. The architecture's build options are kept.
    """
    if name == "search":
        return search
    if name == "strong":
        shift = side // 12
        kinds = (["flip"] if dataset in FLIP_SAFE else []) + (["shift"] if shift else [])
        return replace(
            search, optimizer="adamw", learning_rate=3e-3, weight_decay=0.05,
            schedule="onecycle", label_smoothing=0.1, augment="+".join(kinds) or "none",
            shift=shift,
        )  # fmt: skip
    raise ValueError(f"unknown final recipe {name!r}; choose one of {', '.join(FINAL_RECIPES)}")
