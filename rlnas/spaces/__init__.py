"""Search spaces: MDPs whose terminal states are architectures, and their registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rlnas.config import apply_settings
from rlnas.spaces.base import LinkDecision, SearchSpace
from rlnas.spaces.choice import Choice, ChoiceSpace
from rlnas.spaces.enas_macro import EnasMacroConfig, EnasMacroSpace, EnasMacroState
from rlnas.spaces.metaqnn import PRESETS, MetaQNNConfig, MetaQNNSpace, MetaQNNState

__all__ = [
    "SPACES",
    "Choice",
    "ChoiceSpace",
    "EnasMacroConfig",
    "EnasMacroSpace",
    "EnasMacroState",
    "LinkDecision",
    "MetaQNNConfig",
    "MetaQNNSpace",
    "MetaQNNState",
    "RnnCellConfig",
    "RnnCellSpace",
    "RnnCellState",
    "SearchSpace",
    "make_space",
    "register_space",
]

#: ``factory(input_shape=(C, H, W), num_classes=n, overrides={...}) -> SearchSpace``.
SpaceFactory = Callable[..., SearchSpace[Any]]
#: Registered name -> factory. A new space registers here and every strategy can use it.
SPACE_FACTORIES: dict[str, SpaceFactory] = {}


def register_space(name: str, factory: SpaceFactory) -> None:
    """Register ``factory`` under ``name`` (``--space NAME``)."""
    SPACE_FACTORIES[name] = factory


def _metaqnn(name: str) -> SpaceFactory:
    def factory(
        *, input_shape: tuple[int, int, int], num_classes: int, overrides: dict[str, Any]
    ) -> SearchSpace[Any]:
        config = apply_settings(MetaQNNConfig, PRESETS[name], overrides, name="space")
        return MetaQNNSpace(
            config, image_size=min(input_shape[1:]), num_classes=num_classes, name=name,
            input_shape=input_shape,
        )  # fmt: skip

    return factory


for _name in PRESETS:
    register_space(_name, _metaqnn(_name))


# Other spaces register here, importing their module above this line.

from rlnas.spaces.blockqnn import PRESETS as BLOCKQNN_PRESETS  # noqa: E402
from rlnas.spaces.blockqnn import BlockQNNConfig, BlockQNNSpace  # noqa: E402


def _blockqnn(name: str) -> SpaceFactory:
    def factory(
        *, input_shape: tuple[int, int, int], num_classes: int, overrides: dict[str, Any]
    ) -> SearchSpace[Any]:
        config = apply_settings(BlockQNNConfig, BLOCKQNN_PRESETS[name], overrides, name="space")
        return BlockQNNSpace(config, input_shape=input_shape, num_classes=num_classes, name=name)

    return factory


for _name in BLOCKQNN_PRESETS:
    register_space(_name, _blockqnn(_name))


def _enas_macro(
    *, input_shape: tuple[int, int, int], num_classes: int, overrides: dict[str, Any]
) -> SearchSpace[Any]:
    config = apply_settings(EnasMacroConfig, None, overrides, name="space")
    return EnasMacroSpace(config, image_size=min(input_shape[1:]), num_classes=num_classes)


register_space("enas-macro", _enas_macro)

from rlnas.spaces.rnn_cell import RnnCellConfig, RnnCellSpace, RnnCellState  # noqa: E402


def _rnn_cell(
    *, input_shape: tuple[int, int, int], num_classes: int, overrides: dict[str, Any]
) -> SearchSpace[Any]:
    # a language model's classes are its vocabulary; it has no image shape
    config = apply_settings(RnnCellConfig, None, overrides, name="space")
    return RnnCellSpace(config, vocab_size=num_classes)


register_space("rnn-cell", _rnn_cell)

#: Registered space names.
SPACES: tuple[str, ...] = tuple(SPACE_FACTORIES)


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
    factory = SPACE_FACTORIES.get(name)
    if factory is None:
        raise ValueError(f"unknown space {name!r}; choose one of {', '.join(SPACE_FACTORIES)}")
    return factory(input_shape=input_shape, num_classes=num_classes, overrides=overrides or {})
