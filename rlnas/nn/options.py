"""Options of the network builder (pure data, no torch), and MetaQNN's dropout schedule."""

from __future__ import annotations

from dataclasses import dataclass

from rlnas.arch import FC, Architecture

__all__ = ["BuildOptions"]


@dataclass(frozen=True)
class BuildOptions:
    """How :func:`rlnas.nn.build` turns an architecture into a network.

    ``dropout``: MetaQNN's schedule. Counting the non-terminal layers from k = 1, a dropout
    layer follows layer k when ``k % dropout_every == 0`` or the layer is FC (one dropout
    even when both hold). The i-th of the n dropout layers has rate ``dropout * i / n``, so
    the rate grows with depth up to ``dropout``. ``dropout = 0`` adds no dropout layers.

    ``batch_norm``: every convolution becomes conv (without bias) -> BatchNorm2d -> ReLU.
    None (the default) leaves it to the family: off for MetaQNN's chains, as in the paper;
    on for ENAS's macro networks, whose operations are ReLU-conv-BN.

    ``head_dropout``: the dropout rate of BlockQNN's classification head (dense -> ReLU ->
    dropout -> dense; NasGym's 0.4). Chain networks ignore it.

    Raises :class:`ValueError` unless ``0 <= dropout, head_dropout < 1`` and
    ``dropout_every >= 1``.
    """

    dropout: float = 0.5
    dropout_every: int = 2
    batch_norm: bool | None = None
    head_dropout: float = 0.4

    def __post_init__(self) -> None:
        if isinstance(self.dropout, bool) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if (
            isinstance(self.dropout_every, bool)
            or not isinstance(self.dropout_every, int)
            or self.dropout_every < 1
        ):
            raise ValueError(f"dropout_every must be an int >= 1, got {self.dropout_every!r}")
        if isinstance(self.head_dropout, bool) or not 0.0 <= self.head_dropout < 1.0:
            raise ValueError(f"head_dropout must be in [0, 1), got {self.head_dropout!r}")
        if self.batch_norm is not None and not isinstance(self.batch_norm, bool):
            raise ValueError(f"batch_norm must be true or false, got {self.batch_norm!r}")

    def dropout_rates(self, arch: Architecture) -> dict[int, float]:
        """Map the 0-based index of each layer followed by a dropout to that dropout's rate.

        >>> from rlnas.arch import parse
        >>> arch = parse("[C(8,3,1), C(8,3,1), P(2,2), C(8,3,1), FC(16), FC(16), SM(10)]")
        >>> BuildOptions().dropout_rates(arch)
        {1: 0.125, 3: 0.25, 4: 0.375, 5: 0.5}
        >>> BuildOptions(dropout=0).dropout_rates(arch)
        {}
        """
        if self.dropout == 0:
            return {}
        positions = [
            index
            for index, layer in enumerate(arch.layers[:-1])
            if (index + 1) % self.dropout_every == 0 or isinstance(layer, FC)
        ]
        count = len(positions)
        return {index: self.dropout * i / count for i, index in enumerate(positions, start=1)}
