"""A Gymnasium environment over any search space, evaluator and reward (NasGym, done over).

One step is one action of the space's MDP (an id into ``space.vocabulary``); the
observation is ``space.encode(state)``; the reward is 0 until the action that completes
the network, then the reward of the trained network. Legal actions are exposed as
:meth:`NasEnv.action_masks` (what sb3-contrib's ``MaskablePPO`` calls) and as
``info["action_mask"]`` (int8, what ``action_space.sample(mask=...)`` takes).

Illegal actions, so that agents without masks (SB3's PPO, DQN) work unchanged: the state
does not change, the step's reward is ``illegal_reward`` (default -0.1, a tenth of the
accuracy scale, so the agent learns to avoid them quickly without the penalty dwarfing the
accuracy differences it must learn), ``info["illegal"]`` is True, and the episode is
truncated after ``max_steps`` steps (default ``4 * space.horizon``) without training
anything. A masked agent never sees them.

Every architecture is trained once: results are cached by architecture string (pass a
shared ``cache`` mapping to share it between environments or with a search).

>>> import gymnasium, rlnas
>>> env = gymnasium.make("rlnas/NasEnv-v0", space="blockqnn-chain", evaluator="fake")
>>> obs, info = env.reset(seed=0)
>>> obs.shape, info["action_mask"].tolist()
((240,), [1, 1, 1, 1, 1, 1, 1, 1])
>>> obs, reward, terminated, truncated, info = env.step(7)  # the terminal head at once
>>> terminated, info["architecture"], 0.6 <= reward <= 1
(True, '[BHEAD(1024,10)]', True)
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from rlnas.evaluation.base import Evaluator
from rlnas.evaluation.rewards import Reward, make_reward
from rlnas.results import EvalResult
from rlnas.spaces import SearchSpace, make_space

__all__ = ["ENV_ID", "EpisodeRecord", "NasEnv"]

#: The id under which ``import rlnas`` registers :class:`NasEnv` with Gymnasium.
ENV_ID = "rlnas/NasEnv-v0"


@dataclass(frozen=True)
class EpisodeRecord:
    """One finished episode that designed a network."""

    architecture: str
    reward: float
    result: EvalResult
    #: True when the result came from the cache (the network was not trained again).
    cached: bool
    #: Steps the episode took, illegal ones included.
    steps: int


class NasEnv(gymnasium.Env[np.ndarray, np.int64]):
    """Design a network action by action; the last action trains it.

    ``space``: a :class:`SearchSpace` or a registered name (``metaqnn``, ``blockqnn``,
    ``blockqnn-chain``, ...). ``evaluator``: an :class:`Evaluator`, ``"train"`` (train on
    ``dataset`` with :func:`rlnas.search.build_evaluator`) or ``"fake"``
    (:class:`rlnas.evaluation.fake.FakeEvaluator` with a hidden target, for fast experiments; its
    images are ``input_shape`` with ``num_classes`` classes). ``reward``: a name from
    :mod:`rlnas.evaluation.rewards` or a function of an :class:`EvalResult`. ``seed``: the
    run seed that, with the architecture, seeds each network's training (as in a search)
    and the fake evaluator's target. Further keyword ``settings`` are
    :class:`rlnas.config.SearchConfig` fields for the training evaluator (``epochs``,
    ``subset``, ``data_dir``, ``device``, ``threads``, ``train_settings``, ...) and
    ``space_settings`` for the space. Bad settings raise :class:`ValueError`.

    ``history`` lists every episode that designed a network, in order.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012  (Gymnasium's way)

    def __init__(
        self,
        space: SearchSpace[Any] | str = "metaqnn",
        evaluator: Evaluator | str = "train",
        reward: Reward | str = "accuracy",
        *,
        dataset: str = "digits",
        seed: int = 0,
        illegal_reward: float = -0.1,
        max_steps: int | None = None,
        cache: MutableMapping[str, EvalResult] | None = None,
        input_shape: tuple[int, int, int] = (1, 8, 8),
        num_classes: int = 10,
        render_mode: str | None = None,
        **settings: Any,
    ) -> None:
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        self.run_seed = seed
        self.space, self.evaluator = _resolve(
            space, evaluator, dataset, seed, input_shape, num_classes, settings
        )
        self.reward_fn = make_reward(reward) if isinstance(reward, str) else reward
        self.illegal_reward = float(illegal_reward)
        self.max_steps = max_steps if max_steps is not None else 4 * self.space.horizon
        if self.max_steps < self.space.horizon:
            raise ValueError(
                f"max_steps={self.max_steps} is shorter than the space's horizon "
                f"({self.space.horizon}); no episode could finish"
            )
        self.cache: MutableMapping[str, EvalResult] = {} if cache is None else cache
        self.history: list[EpisodeRecord] = []
        size = len(self.space.encode(self.space.initial_state()))
        low, high = self.space.encode_bounds
        self.observation_space = spaces.Box(low, high, shape=(size,), dtype=np.float32)
        self.action_space = spaces.Discrete(len(self.space.vocabulary))
        self.state = self.space.initial_state()
        self.steps = 0

    def action_masks(self) -> np.ndarray:
        """Boolean mask over the actions, True where legal (all False once terminal)."""
        return self.space.action_mask(self.state)

    def _info(self, **extra: Any) -> dict[str, Any]:
        return {"action_mask": self.action_masks().astype(np.int8), **extra}

    def _obs(self) -> np.ndarray:
        return np.asarray(self.space.encode(self.state), dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.state = self.space.initial_state()
        self.steps = 0
        return self._obs(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = int(action)
        self.steps += 1
        if not (0 <= action < len(self.space.vocabulary) and self.action_masks()[action]):
            truncated = self.steps >= self.max_steps
            return self._obs(), self.illegal_reward, False, truncated, self._info(illegal=True)
        self.state = self.space.step(self.state, action)
        if not self.space.is_terminal(self.state):
            return self._obs(), 0.0, False, self.steps >= self.max_steps, self._info(illegal=False)
        record = self._evaluate()
        info = self._info(
            illegal=False, architecture=record.architecture, result=record.result,
            cached=record.cached,
        )  # fmt: skip
        return self._obs(), record.reward, True, False, info

    def _evaluate(self) -> EpisodeRecord:
        """Train (or look up) the finished network and record the episode."""
        from rlnas.results import trial_seed

        arch = self.space.architecture(self.state)
        key = str(arch)
        result = self.cache.get(key)
        cached = result is not None
        if result is None:
            result = self.evaluator.evaluate(arch, trial_seed(self.run_seed, key))
            self.cache[key] = result
        record = EpisodeRecord(key, float(self.reward_fn(result)), result, cached, self.steps)
        self.history.append(record)
        return record

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return "[" + ", ".join(str(layer) for layer in _layers(self.state)) + "]"


def _layers(state: Any) -> tuple[Any, ...]:
    """The layers of a state of any space (every space keeps its path as ``layers``)."""
    return tuple(getattr(state, "layers", ()))


def _resolve(
    space: SearchSpace[Any] | str,
    evaluator: Evaluator | str,
    dataset: str,
    seed: int,
    input_shape: tuple[int, int, int],
    num_classes: int,
    settings: dict[str, Any],
) -> tuple[SearchSpace[Any], Evaluator]:
    """The space and evaluator that the constructor's arguments describe."""
    space_settings = dict(settings.pop("space_settings", None) or {})

    def named_space(shape: tuple[int, int, int], classes: int) -> SearchSpace[Any]:
        if not isinstance(space, str):
            return space
        return make_space(space, input_shape=shape, num_classes=classes, overrides=space_settings)

    if isinstance(evaluator, Evaluator):
        if settings:
            raise ValueError(f"settings {sorted(settings)} apply to evaluator='train' only")
        return named_space(evaluator.input_shape, evaluator.num_classes), evaluator
    if evaluator == "fake":
        from rlnas.evaluation.fake import FakeEvaluator

        if settings:
            raise ValueError(f"settings {sorted(settings)} apply to evaluator='train' only")
        shape = (int(input_shape[0]), int(input_shape[1]), int(input_shape[2]))
        resolved = named_space(shape, num_classes)
        return resolved, FakeEvaluator(resolved, seed=seed, input_shape=shape)
    if evaluator == "train":
        from rlnas.config import SearchConfig
        from rlnas.search.components import build_evaluator

        config = SearchConfig.from_dict(
            {"dataset": dataset, "seed": seed, **settings}, source="NasEnv settings"
        )
        trained = build_evaluator(config)
        return named_space(trained.input_shape, trained.num_classes), trained
    raise ValueError(f"evaluator must be an Evaluator, 'train' or 'fake', got {evaluator!r}")
