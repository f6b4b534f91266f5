"""Label-preserving augmentations of a training batch, applied on the in-memory tensors."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["augment_batch"]


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
