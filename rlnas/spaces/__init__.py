"""Search spaces: MDPs whose terminal states are architectures."""

from __future__ import annotations

from typing import Any

from rlnas.spaces.base import SearchSpace
from rlnas.spaces.metaqnn import PRESETS, MetaQNNConfig, MetaQNNSpace, MetaQNNState

__all__ = [
    "SPACES",
    "MetaQNNConfig",
    "MetaQNNSpace",
    "MetaQNNState",
    "SearchSpace",
    "make_space",
]

#: Registered space names.
SPACES: tuple[str, ...] = tuple(PRESETS)


def make_space(
    name: str,
    *,
    input_shape: tuple[int, int, int],
    num_classes: int,
    overrides: dict[str, Any] | None = None,
) -> SearchSpace[Any]:
    """Create the space ``name`` for images of ``input_shape`` (C, H, W).

    ``overrides`` are settings from a config file's ``[space]`` table; an unknown or
    invalid one raises ``ValueError`` with a message naming it.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown space {name!r}; choose one of {', '.join(SPACES)}")
    config = MetaQNNConfig.from_dict(PRESETS[name], overrides or {})
    return MetaQNNSpace(config, image_size=min(input_shape[1:]), num_classes=num_classes, name=name)
