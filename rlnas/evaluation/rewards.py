"""Rewards: pure functions of an :class:`EvalResult` (raw metrics are always stored, so any
reward can be recomputed afterwards, e.g. by ``rlnas show RUN --reward ...``).

A reward is named by a spec string, ``NAME`` or ``NAME:key=value,key=value``:

- ``accuracy``: MetaQNN's, the best validation accuracy.
- ``penalized[:params=N,latency=Xms,lambda_size=L,lambda_latency=L]``: seed 000's,
  ``acc - lambda_size * max(0, params / params_limit - 1)
  - lambda_latency * max(0, latency / latency_limit - 1)``; a term without a limit is off.
- ``mnas[:T=Xms,w=W]`` or ``mnas:T=Xms,hard``: MnasNet's ``acc * (latency / T) ** w``,
  soft (``w = -0.07`` on both sides of T) or hard (no change up to T, ``w = -1`` beyond).

Latencies are batch-1 medians in milliseconds (``EvalResult.latency_ms``); a latency-aware
reward makes the search measure them. A failed trial scores chance level, 1 / classes,
under every reward. Any callable ``EvalResult -> float`` is a reward too (the API's
``run_search(..., reward=fn)``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rlnas.results import EvalResult, TrialStatus

__all__ = [
    "REWARDS",
    "Accuracy",
    "MnasReward",
    "PenalizedReward",
    "Reward",
    "accuracy",
    "make_reward",
    "needs_latency",
]

#: A reward maps raw measurements to the number the strategy maximises.
Reward = Callable[[EvalResult], float]


def accuracy(result: EvalResult) -> float:
    """MetaQNN's reward: the best validation accuracy; chance level for a failed trial.

    A pruned trial keeps the best accuracy it reached (a lower bound of what it would have).

    >>> accuracy(EvalResult(TrialStatus.FAILED, val_acc=0.93, num_classes=10))
    0.1
    >>> accuracy(EvalResult(TrialStatus.PRUNED, val_acc=0.5, num_classes=10))
    0.5
    """
    return 1.0 / result.num_classes if result.status is TrialStatus.FAILED else result.val_acc


@dataclass(frozen=True)
class Accuracy:
    """The ``accuracy`` spec as an object (see :func:`accuracy`)."""

    needs_latency = False

    def __call__(self, result: EvalResult) -> float:
        return accuracy(result)


@dataclass(frozen=True)
class PenalizedReward:
    """Accuracy minus linear penalties for passing a size and a latency limit (seed 000).

    >>> r = PenalizedReward(params=1000, latency_ms=2.0, lambda_size=0.5, lambda_latency=0.1)
    >>> res = EvalResult(TrialStatus.OK, 0.9, 10, params=1500, latency_ms=3.0)
    >>> round(r(res), 6)  # 0.9 - 0.5 * 0.5 - 0.1 * 0.5
    0.6
    >>> r(EvalResult(TrialStatus.OK, 0.9, 10, params=800, latency_ms=1.0))
    0.9
    """

    params: int | None = None
    latency_ms: float | None = None
    lambda_size: float = 1.0
    lambda_latency: float = 1.0

    @property
    def needs_latency(self) -> bool:
        return self.latency_ms is not None

    def __call__(self, result: EvalResult) -> float:
        if result.status is TrialStatus.FAILED:
            return 1.0 / result.num_classes
        value = result.val_acc
        if self.params is not None:
            value -= self.lambda_size * max(0.0, result.params / self.params - 1)
        if self.latency_ms is not None and result.latency_ms is not None:
            value -= self.lambda_latency * max(0.0, result.latency_ms / self.latency_ms - 1)
        return value


@dataclass(frozen=True)
class MnasReward:
    """MnasNet's ``acc * (latency / T) ** w`` with ``w = alpha`` up to T, ``beta`` beyond.

    Soft (the default): ``alpha = beta = -0.07``; hard: ``alpha = 0, beta = -1``.

    >>> soft, hard = MnasReward(2.0), MnasReward(2.0, alpha=0.0, beta=-1.0)
    >>> res = EvalResult(TrialStatus.OK, 0.8, 10, latency_ms=4.0)
    >>> round(soft(res), 6), hard(res)  # 0.8 * 2 ** -0.07, 0.8 / 2
    (0.76211, 0.4)
    """

    target_ms: float
    alpha: float = -0.07
    beta: float = -0.07
    needs_latency = True

    def __call__(self, result: EvalResult) -> float:
        if result.status is TrialStatus.FAILED:
            return 1.0 / result.num_classes
        if result.latency_ms is None:
            raise ValueError(
                "the mnas reward needs measured latencies; this result has none "
                "(search with --latency or a latency-aware --reward)"
            )
        ratio = result.latency_ms / self.target_ms
        return result.val_acc * ratio ** (self.alpha if ratio <= 1 else self.beta)


#: The reward names a spec can start with.
REWARDS: tuple[str, ...] = ("accuracy", "penalized", "mnas")

_NUMBER = re.compile(r"^([0-9.]+(?:e[+-]?[0-9]+)?)([km]?)$")
_MS = re.compile(r"^([0-9.]+(?:e[+-]?[0-9]+)?)\s*(ms|s|us)?$")


def _count(key: str, text: str) -> int:
    """``50000``, ``50k`` or ``1.5m`` as an integer."""
    m = _NUMBER.match(text.strip().lower())
    if not m:
        raise ValueError(f"{key}={text!r} is not a count; use e.g. 50000 or 50k")
    return int(float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6}[m.group(2)])


def _millis(key: str, text: str) -> float:
    """``2``, ``2ms``, ``0.002s`` or ``500us`` in milliseconds."""
    m = _MS.match(text.strip().lower())
    if not m:
        raise ValueError(f"{key}={text!r} is not a duration; use e.g. 2ms")
    scale = {None: 1.0, "ms": 1.0, "s": 1e3, "us": 1e-3}[m.group(2)]
    return float(m.group(1)) * scale


def _float(key: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{key}={text!r} is not a number") from None


def _options(spec: str, name: str, allowed: set[str]) -> dict[str, str]:
    _, _, rest = spec.partition(":")
    options: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in allowed:
            raise ValueError(
                f"unknown option {key!r} of reward {name!r}; known: {', '.join(sorted(allowed))}"
            )
        options[key] = value.strip()
    return options


def make_reward(spec: str | Reward, *, latency_ms: float | None = None) -> Reward:
    """The reward a spec string names (see the module docstring), or ``spec`` itself when
    it is a callable. ``latency_ms`` is the latency limit/target used when the spec gives
    none (``--max-latency-ms``). Raises ``ValueError`` naming what is wrong.

    >>> make_reward("penalized:params=50k,latency=2ms,lambda_size=0.5")
    PenalizedReward(params=50000, latency_ms=2.0, lambda_size=0.5, lambda_latency=1.0)
    >>> make_reward("mnas:T=3ms,hard")
    MnasReward(target_ms=3.0, alpha=0.0, beta=-1.0)
    """
    if callable(spec):
        return spec
    name = spec.partition(":")[0].strip()
    if name == "accuracy":
        _options(spec, name, set())
        return Accuracy()
    if name == "penalized":
        o = _options(spec, name, {"params", "latency", "lambda_size", "lambda_latency"})
        reward = PenalizedReward(
            params=_count("params", o["params"]) if "params" in o else None,
            latency_ms=_millis("latency", o["latency"]) if "latency" in o else latency_ms,
            lambda_size=_float("lambda_size", o.get("lambda_size", "1")),
            lambda_latency=_float("lambda_latency", o.get("lambda_latency", "1")),
        )
        if reward.params is None and reward.latency_ms is None:
            raise ValueError(
                "reward penalized needs a limit: e.g. --reward penalized:params=50k,latency=2ms "
                "or --max-latency-ms 2"
            )
        if (reward.params is not None and reward.params < 1) or (reward.latency_ms or 1) <= 0:
            raise ValueError("reward penalized: params and latency limits must be positive")
        return reward
    if name == "mnas":
        o = _options(spec, name, {"T", "w", "hard"})
        target = _millis("T", o["T"]) if "T" in o else latency_ms
        if target is None or target <= 0:
            raise ValueError(
                "reward mnas needs a positive latency target: e.g. --reward mnas:T=2ms "
                "or --max-latency-ms 2"
            )
        if "hard" in o:
            if o["hard"] or "w" in o:
                raise ValueError("reward mnas: 'hard' takes no value and excludes w")
            return MnasReward(target, alpha=0.0, beta=-1.0)
        w = _float("w", o.get("w", "-0.07"))
        return MnasReward(target, alpha=w, beta=w)
    raise ValueError(f"unknown reward {spec!r}; choose one of {', '.join(REWARDS)}")


def needs_latency(reward: Any) -> bool:
    """Whether a reward reads ``latency_ms`` (a callable may say so with ``needs_latency``)."""
    return bool(getattr(reward, "needs_latency", False))
