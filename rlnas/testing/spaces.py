"""The search-space conformance suite: every space must pass :func:`check_space`.

It walks random paths of the MDP and asserts the contract of
:class:`~rlnas.spaces.base.SearchSpace`, so that a space of your own works with every
strategy and with the Gymnasium environment:

>>> from rlnas.spaces import make_space
>>> check_space(make_space("metaqnn-tiny", input_shape=(1, 8, 8), num_classes=10))
"""

from __future__ import annotations

import json
import pickle
from typing import Any

import numpy as np

from rlnas.arch import parse
from rlnas.spaces.base import SearchSpace

__all__ = ["check_space"]


def check_space(space: SearchSpace[Any], *, paths: int = 50, seed: int = 0) -> None:
    """Assert the space contract on ``paths`` random paths (``AssertionError`` says what
    broke):

    - legal actions are ascending ids into the vocabulary, empty exactly at terminal
      states, and every path ends within :attr:`~SearchSpace.horizon` actions;
    - :meth:`~SearchSpace.step` is pure (the state it was given is unchanged, equal steps
      give equal states) and refuses an illegal action with ``ValueError``;
    - each architecture prints in a notation the one parser reads back, and the space
      gives back the path that built it (:meth:`~SearchSpace.trajectory`);
    - :meth:`~SearchSpace.encode` has one length and stays within ``encode_bounds``;
      :meth:`~SearchSpace.key` is hashable; :meth:`~SearchSpace.action_mask` agrees with
      :meth:`~SearchSpace.actions`; :meth:`~SearchSpace.config` is JSON;
    - sampling is a function of the generator's seed, and the space pickles (workers and
      checkpoints carry it).
    """
    assert space.vocabulary, "the vocabulary is empty"
    json.dumps(space.config(), default=str)
    rng = np.random.default_rng(seed)
    sizes: set[int] = set()
    for _ in range(paths):
        sizes.add(_check_path(space, rng))
    assert len(sizes) == 1, f"encode() returned vectors of lengths {sorted(sizes)}"
    first = [space.sample(np.random.default_rng(seed + 1)) for _ in range(2)]
    assert first[0] == first[1], "the same generator seed sampled different paths"
    copy = pickle.loads(pickle.dumps(space))
    arch, actions = space.sample(np.random.default_rng(seed))
    assert copy.architecture(copy.rollout(actions)) == arch, "a pickled copy builds another network"


def _check_path(space: SearchSpace[Any], rng: np.random.Generator) -> int:
    """Walk one random path, checking every state on it; the encoding's length."""
    state = space.initial_state()
    ids: list[int] = []
    low, high = space.encode_bounds
    size = -1
    while True:
        legal = space.actions(state)
        assert list(legal) == sorted(set(legal)), f"actions not ascending and unique: {legal}"
        assert all(0 <= a < len(space.vocabulary) for a in legal), f"ids out of range: {legal}"
        assert (not legal) == space.is_terminal(state), "actions empty but not terminal, or not"
        mask = space.action_mask(state)
        assert np.flatnonzero(mask).tolist() == list(legal), "action_mask disagrees with actions"
        code = space.encode(state)
        assert code.dtype == np.float32 and code.ndim == 1, f"encode: {code.dtype}, {code.shape}"
        assert np.all((low <= code) & (code <= high)), "encode() left encode_bounds"
        size = len(code)
        hash(space.key(state))
        if not legal:
            break
        assert len(ids) < space.horizon, f"a path ran past the horizon ({space.horizon})"
        _check_step(space, state, legal, rng)
        action = int(legal[int(rng.integers(len(legal)))])
        ids.append(action)
        state = space.step(state, action)
    arch = space.architecture(state)
    assert parse(str(arch)) == arch, f"{arch} does not parse back to itself"
    assert space.rollout(ids) == state, "following the same actions reached another state"
    assert tuple(space.trajectory(arch)) == tuple(ids), f"trajectory({arch}) is not its path"
    assert space.contains(arch)
    return size


def _check_step(
    space: SearchSpace[Any], state: Any, legal: tuple[int, ...], rng: np.random.Generator
) -> None:
    before = pickle.dumps(state)
    action = int(legal[int(rng.integers(len(legal)))])
    assert space.step(state, action) == space.step(state, action), "step is not deterministic"
    assert pickle.dumps(state) == before, "step changed the state it was given"
    illegal = sorted(set(range(len(space.vocabulary))) - set(legal))
    if illegal:
        try:
            space.step(state, illegal[0])
        except ValueError:
            pass
        else:
            raise AssertionError(f"step accepted the illegal action {illegal[0]}")
