"""Search spaces written in Python: a fixed sequence of choices, as NNI's ``LayerChoice``
or KerasTuner's ``hp.Choice``, with training hyper-parameters searched beside the layers.

Each :class:`Choice` picks one of its options: a layer spec of MetaQNN's notation, or
``None`` (no layer there); the last choice picks the head (``GAP`` or ``SM``). ``hyper``
maps ``learning_rate`` and ``batch_size`` to their options; they are decided first and
travel in the architecture as ``LR(n)`` (``n`` x 1e-6) and ``BS(n)`` tokens, which the
trainer applies. It is an MDP like every space (one step per choice, the options as
actions), so every strategy, the Gymnasium environment and the conformance suite work on
it unchanged:

>>> from rlnas.arch import GAP, Conv, Pool, Softmax
>>> space = ChoiceSpace(
...     [Choice("conv1", [Conv(16, 3), Conv(32, 5)]), Choice("pool1", [Pool(2, 2), None]),
...      Choice("conv2", [Conv(32, 3), None]), Choice("head", [GAP(10), Softmax(10)])],
...     hyper={"learning_rate": [1e-3, 3e-3], "batch_size": [64, 128]},
... )
>>> len(space.architectures())
64
>>> str(space.architecture(space.rollout([1, 2, 4, 7, 8, 11])))
'[LR(3000), BS(64), C(16,3,1), C(32,3,1), SM(10)]'

Register one to search it by name (``register_space("mine", lambda **_: space)``), or
give the object to :class:`rlnas.Search` for your own training loop.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlnas.arch import Architecture, Layer
from rlnas.arch.chain import BatchSize, LearningRate
from rlnas.spaces.base import SearchSpace

__all__ = ["Choice", "ChoiceSpace"]

#: The hyper-parameters a choice space can search, and the token each becomes.
HYPER: dict[str, Callable[[float], Layer]] = {
    "learning_rate": lambda v: LearningRate(round(v * 1e6)),
    "batch_size": lambda v: BatchSize(int(v)),
}


@dataclass(frozen=True)
class Choice:
    """One decision: its ``name`` and its ``options`` (layer specs; ``None``: no layer)."""

    name: str
    options: tuple[Layer | None, ...]

    def __init__(self, name: str, options: Sequence[Layer | None]) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "options", tuple(options))


class ChoiceSpace(SearchSpace[tuple[int, ...]]):
    """The choices of ``choices`` (and ``hyper``, decided first), in order. State: the
    option index taken at each decision so far."""

    def __init__(
        self,
        choices: Sequence[Choice],
        *,
        hyper: Mapping[str, Sequence[float]] | None = None,
        name: str = "choice",
    ) -> None:
        unknown = sorted(set(hyper or {}) - set(HYPER))
        if unknown:
            raise ValueError(f"cannot search {', '.join(unknown)}; choose from {', '.join(HYPER)}")
        tokens = [Choice(k, [HYPER[k](v) for v in vs]) for k, vs in (hyper or {}).items()]
        self.choices = (*tokens, *choices)
        if not choices or any(not c.options for c in self.choices):
            raise ValueError("a choice space needs choices, each with at least one option")
        if not all(o is not None and o.terminal for o in choices[-1].options):
            raise ValueError(f"the last choice ({choices[-1].name}) must pick a head: GAP or SM")
        if any(o is not None and o.terminal for c in choices[:-1] for o in c.options):
            raise ValueError("only the last choice may offer a head (GAP or SM)")
        self.name = name
        self.vocabulary = tuple(f"{c.name}={o}" for c in self.choices for o in c.options)
        offsets = np.cumsum([0] + [len(c.options) for c in self.choices])
        self._offsets = tuple(int(v) for v in offsets)

    @property
    def horizon(self) -> int:
        return len(self.choices)

    def initial_state(self) -> tuple[int, ...]:
        return ()

    def actions(self, state: tuple[int, ...]) -> tuple[int, ...]:
        if self.is_terminal(state):
            return ()
        start = self._offsets[len(state)]
        return tuple(range(start, self._offsets[len(state) + 1]))

    def step(self, state: tuple[int, ...], action: int) -> tuple[int, ...]:
        if action not in self.actions(state):
            raise ValueError(f"action {action} is not legal at choice {len(state) + 1}")
        return (*state, action - self._offsets[len(state)])

    def is_terminal(self, state: tuple[int, ...]) -> bool:
        return len(state) == len(self.choices)

    def architecture(self, state: tuple[int, ...]) -> Architecture:
        if not self.is_terminal(state):
            raise ValueError("only a complete set of choices describes an architecture")
        picked = (c.options[i] for c, i in zip(self.choices, state, strict=True))
        return Architecture(tuple(layer for layer in picked if layer is not None))

    def key(self, state: tuple[int, ...]) -> Hashable:
        return state

    def encode(self, state: tuple[int, ...]) -> np.ndarray:
        """One-hot of every choice made so far, and of the next choice to make."""
        code = np.zeros(len(self.vocabulary) + len(self.choices) + 1, dtype=np.float32)
        for position, index in enumerate(state):
            code[self._offsets[position] + index] = 1.0
        code[len(self.vocabulary) + len(state)] = 1.0
        return code

    def trajectory(self, arch: Architecture) -> tuple[int, ...]:
        """The choices that make ``arch`` (the first matching path, None options skipped)."""
        layers = arch.layers

        def match(position: int, used: int) -> tuple[int, ...] | None:
            if position == len(self.choices):
                return () if used == len(layers) else None
            for i, option in enumerate(self.choices[position].options):
                take = option is not None
                if take and (used >= len(layers) or layers[used] != option):
                    continue
                rest = match(position + 1, used + take)
                if rest is not None:
                    return (self._offsets[position] + i, *rest)
            return None

        found = match(0, 0)
        if found is None:
            raise ValueError(f"{arch} is not in the {self.name} space")
        return found

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "choices": [[c.name, *map(str, c.options)] for c in self.choices],
        }
