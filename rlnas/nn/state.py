"""Tensor state as plain numpy data, for checkpoints the search loop stores every trial."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["to_numpy", "to_torch"]


def to_numpy(value: Any) -> Any:
    """Nested dicts/lists/tuples with every tensor replaced by a numpy copy of it.

    Numpy arrays pickle several times faster than tensors, and the copy detaches the
    result from the live model and optimiser (whose state dicts alias their tensors).

    >>> to_numpy({"w": torch.ones(2), "step": [torch.tensor(3.0)], "lr": 0.1})
    {'w': array([1., 1.], dtype=float32), 'step': [array(3., dtype=float32)], 'lr': 0.1}
    """
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_numpy(v) for v in value)
    return value


def to_torch(value: Any, device: torch.device | str = "cpu") -> Any:
    """The inverse of :func:`to_numpy`: every numpy array back to a tensor on ``device``."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy()).to(device)
    if isinstance(value, dict):
        return {k: to_torch(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_torch(v, device) for v in value)
    return value
