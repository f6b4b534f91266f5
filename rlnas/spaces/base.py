"""The search-space contract: a finite-horizon MDP whose terminal states are architectures."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from rlnas.arch import Architecture

__all__ = ["LinkDecision", "SearchSpace", "State"]

State = TypeVar("State", bound=Hashable)


@dataclass(frozen=True)
class LinkDecision:
    """A yes/no step that decides whether an earlier node feeds the current one (a skip
    connection), for controllers with Zoph & Le's anchor-point attention.

    ``source_step`` is the index (in the action sequence) of the step that created the
    earlier node, its anchor point; ``link`` and ``no_link`` are the two action ids.
    """

    source_step: int
    link: int
    no_link: int


class SearchSpace(ABC, Generic[State]):
    """A finite-horizon MDP over layers.

    Call protocol: start from :meth:`initial_state`, pick one of :meth:`actions` (ids into
    :attr:`vocabulary`, legal ones only), :meth:`step` to the next state, until
    :meth:`is_terminal`; then :meth:`architecture` is the network the path describes.
    Every method is pure: states are immutable and nothing mutates in place. Every
    strategy and the Gymnasium environment act on this one interface, so a new space works
    with all of them.
    """

    #: Registered name of the space, e.g. ``"metaqnn"``.
    name: str = ""
    #: Every action the space can ever offer; an action id is an index into it. Layer-by-layer
    #: spaces use layer specs; others any hashable, printable token (e.g. ``"link"``).
    vocabulary: tuple[Hashable, ...] = ()
    #: Every value :meth:`encode` returns lies in [low, high] (the Gymnasium observation box).
    encode_bounds: tuple[float, float] = (0.0, 1.0)
    #: The kind of data its models take: "image" (classifiers) or "text" (language models);
    #: the search refuses an evaluator of another kind (see ``Evaluator.modality``).
    modality: str = "image"

    @abstractmethod
    def initial_state(self) -> State:
        """The empty network."""

    @abstractmethod
    def actions(self, state: State) -> tuple[int, ...]:
        """Legal action ids in ``state``, ascending; empty exactly when ``state`` is terminal."""

    @abstractmethod
    def step(self, state: State, action: int) -> State:
        """The state after taking legal ``action``; raises ``ValueError`` for an illegal one."""

    @abstractmethod
    def is_terminal(self, state: State) -> bool:
        """True when the path is a complete architecture."""

    @abstractmethod
    def architecture(self, state: State) -> Architecture:
        """The architecture of a terminal state."""

    @abstractmethod
    def key(self, state: State) -> Hashable:
        """The abstraction of ``state`` that tabular methods index by (e.g. binned sizes)."""

    @abstractmethod
    def encode(self, state: State) -> np.ndarray:
        """A fixed-length float32 vector describing ``state``, for neural controllers."""

    @property
    @abstractmethod
    def horizon(self) -> int:
        """The most actions any path can take."""

    def config(self) -> dict[str, Any]:
        """Everything that defines the space, JSON-serialisable (for fingerprints)."""
        return {"name": self.name}

    def link_decision(self, state: State) -> LinkDecision | None:
        """The skip connection the next action decides, if it is such a yes/no step.

        Spaces without skip connections keep this default (None); a controller may then
        treat every step alike. The legal actions are still :meth:`actions`.
        """
        return None

    # Derived helpers: the same for every space.

    def action_mask(self, state: State) -> np.ndarray:
        """Boolean mask over the vocabulary, True for legal actions."""
        mask = np.zeros(len(self.vocabulary), dtype=bool)
        mask[list(self.actions(state))] = True
        return mask

    def rollout(self, actions: Sequence[int]) -> State:
        """Follow ``actions`` from the initial state, checking each is legal."""
        state = self.initial_state()
        for action in actions:
            state = self.step(state, action)
        return state

    def trajectory(self, arch: Architecture) -> tuple[int, ...]:
        """The action ids that produce ``arch``; ``ValueError`` if the space cannot."""
        index = {layer: i for i, layer in enumerate(self.vocabulary)}
        state = self.initial_state()
        ids = []
        for position, layer in enumerate(arch.layers, start=1):
            action = index.get(layer)
            if action is None or action not in self.actions(state):
                why = "is not one of its layers" if action is None else self.explain(state, layer)
                raise ValueError(
                    f"{arch} is not in the {self.name} space: {layer} (layer {position}) {why}"
                )
            ids.append(action)
            state = self.step(state, action)
        if not self.is_terminal(state):
            raise ValueError(f"{arch} does not end in a terminal state of the {self.name} space")
        return tuple(ids)

    def explain(self, state: State, token: Hashable) -> str:
        """Why ``token`` (of the vocabulary) is not a legal action in ``state``, as a phrase
        that follows the token's name; spaces with named rules say which rule."""
        return "is not allowed there"

    def contains(self, arch: Architecture) -> bool:
        try:
            self.trajectory(arch)
        except ValueError:
            return False
        return True

    def architectures(self) -> list[Architecture]:
        """Every architecture the space can produce, in depth-first order (small spaces only)."""
        found: list[Architecture] = []
        stack = [self.initial_state()]
        while stack:
            state = stack.pop()
            if self.is_terminal(state):
                found.append(self.architecture(state))
            else:
                stack.extend(self.step(state, a) for a in reversed(self.actions(state)))
        return found

    def neighbours(self, actions: Sequence[int]) -> list[tuple[int, ...]]:
        """The one-edit neighbourhood of the path ``actions``: every path that takes another
        legal action at one step and then keeps the old actions where they stay legal
        (dropping those that do not; if the old ones run out before the network is
        complete, it ends with the first legal action that completes it, else the first
        legal one). Deterministic, distinct, without ``actions`` itself.

        >>> from rlnas.spaces import make_space
        >>> space = make_space("metaqnn-tiny", input_shape=(1, 8, 8), num_classes=10)
        >>> from rlnas.arch import parse
        >>> path = space.trajectory(parse("[C(8,3,1), GAP(10)]"))
        >>> names = [str(space.architecture(space.rollout(n))) for n in space.neighbours(path)]
        >>> names[:2], names[3:5]  # another convolution; the network cut short
        (['[C(8,5,1), GAP(10)]', '[C(32,3,1), GAP(10)]'], ['[GAP(10)]', '[SM(10)]'])
        >>> names[5], names[-1]  # a layer more before the head; another head
        ('[C(8,3,1), C(8,3,1), GAP(10)]', '[C(8,3,1), SM(10)]')
        """
        states = [self.initial_state()]
        for action in actions:
            states.append(self.step(states[-1], action))
        found: dict[tuple[int, ...], None] = {}
        for i, state in enumerate(states[:-1]):
            for other in self.actions(state):
                if other != actions[i]:
                    path = self._repair(
                        self.step(state, other), [*actions[:i], other], actions[i + 1 :]
                    )
                    found.setdefault(path, None)
        found.pop(tuple(actions), None)
        return list(found)

    def _repair(self, state: State, path: list[int], rest: Sequence[int]) -> tuple[int, ...]:
        for action in rest:
            if self.is_terminal(state):
                break
            if action in self.actions(state):
                path.append(action)
                state = self.step(state, action)
        while not self.is_terminal(state):
            legal = self.actions(state)
            ending = [a for a in legal if self.is_terminal(self.step(state, a))]
            action = (ending or legal)[0]
            path.append(action)
            state = self.step(state, action)
        return tuple(path)

    def sample(self, rng: np.random.Generator) -> tuple[Architecture, tuple[int, ...]]:
        """A uniformly random legal path (uniform over actions at each step)."""
        state = self.initial_state()
        ids = []
        while not self.is_terminal(state):
            legal = self.actions(state)
            action = legal[int(rng.integers(len(legal)))]
            ids.append(action)
            state = self.step(state, action)
        return self.architecture(state), tuple(ids)
