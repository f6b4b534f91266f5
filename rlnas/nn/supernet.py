"""Super-networks for weight sharing (ENAS): one module that runs every child of a space.

A super-network is an ``nn.Module`` whose ``forward(x, arch)`` maps ``(B, C, H, W)``
images to ``(B, num_classes)`` logits of child ``arch``; children that use the same
operation at the same place use the same parameter tensors. Each family of architectures
registers a factory; :func:`make_supernet` picks it from the space's ``config()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

__all__ = ["SUPERNETS", "make_supernet", "register_supernet"]

#: ``factory(space_config, input_shape, num_classes) -> module`` with ``forward(x, arch)``.
SupernetFactory = Callable[[dict[str, Any], Sequence[int], int], nn.Module]
#: Architecture family (``space.config()["family"]``) -> factory.
SUPERNETS: dict[str, SupernetFactory] = {}


def register_supernet(family: str, factory: SupernetFactory) -> None:
    """Make :func:`make_supernet` use ``factory`` for spaces of ``family``."""
    SUPERNETS[family] = factory


def make_supernet(
    space_config: dict[str, Any], input_shape: Sequence[int], num_classes: int
) -> nn.Module:
    """The super-network of the space whose ``config()`` is ``space_config``.

    Raises :class:`ValueError` when no super-network exists for that space's family.
    """
    factory = SUPERNETS.get(str(space_config.get("family", "")))
    if factory is None:
        spaces = ", ".join(sorted(SUPERNETS)) or "none"
        raise ValueError(
            f"weight sharing is not available for the {space_config.get('name')!r} space; "
            f"use a space of family {spaces} (e.g. --space enas-macro)"
        )
    return factory(space_config, input_shape, num_classes)
