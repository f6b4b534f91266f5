"""The strategy conformance suite: every strategy must pass :func:`check_strategy`.

It drives a strategy through its ask/tell protocol on the fake evaluator and asserts the
contract of :class:`~rlnas.strategies.base.Strategy`, so that a strategy of your own runs
in the search loop, resumes exactly and checkpoints as plain data:

>>> from rlnas.strategies import STRATEGIES
>>> check_strategy(STRATEGIES["evolution"])
"""

from __future__ import annotations

import pickle
from typing import Any

from rlnas.evaluation.fake import FakeEvaluator
from rlnas.spaces import make_space
from rlnas.spaces.base import SearchSpace
from rlnas.strategies import OneShotStrategy, Strategy, make_strategy
from rlnas.strategies.base import Feedback, Proposal

__all__ = ["check_strategy"]


def check_strategy(
    cls: type[Strategy],
    space: SearchSpace[Any] | None = None,
    *,
    trials: int = 24,
    seed: int = 0,
    **settings: Any,
) -> None:
    """Assert the strategy contract for ``cls`` on ``space`` (default: MetaQNN's space on
    8x8 images) with the fake evaluator, over ``trials`` proposals (``AssertionError``
    says what broke):

    - every proposal is an architecture of the space, and its actions are the legal path
      that builds it;
    - the same seed gives the same proposals; another seed, others;
    - ``state_dict()`` pickles, and a fresh strategy that loads it (made with the same
      arguments) goes on with exactly the proposals the original makes;
    - observing replays (``new=False``), several proposals out at once, and a one-shot
      strategy's weight-sharing phase all work;
    - the resume holds under a time limit too: the check tells the strategy the share of
      a time limit spent (``Feedback.time_share``), running ahead of the trials.

    ``settings`` are the strategy's hyper-parameters.
    """
    space = space or make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    fake = FakeEvaluator(space, seed=seed, noise=0.02)
    first = _drive(cls, space, fake, seed, trials, settings)
    assert first == _drive(cls, space, fake, seed, trials, settings), "the same seed differed"
    if len({p.architecture for p in first}) > 2:
        other = _drive(cls, space, fake, seed + 1, trials, settings)
        assert other != first, "another seed proposed exactly the same"
    _check_resume(cls, space, fake, seed, trials, settings)


def _make(
    cls: type[Strategy], space: SearchSpace[Any], fake: FakeEvaluator, seed: int, budget: int,
    settings: dict[str, Any],
) -> Strategy:  # fmt: skip
    strategy = make_strategy(cls, space, budget=budget, seed=seed, **settings)
    assert isinstance(strategy, Strategy)
    if isinstance(strategy, OneShotStrategy):
        strategy.attach(fake.shared_weights(space, strategy.shared_config, seed=seed))
    return strategy


def _run_phase(strategy: Strategy) -> None:
    if isinstance(strategy, OneShotStrategy):
        for _ in range(10_000):
            if strategy.phase_step() is None:
                return
        raise AssertionError("the weight-sharing phase never ended")


def _drive(
    cls: type[Strategy], space: SearchSpace[Any], fake: FakeEvaluator, seed: int, trials: int,
    settings: dict[str, Any], *, strategy: Strategy | None = None,
    clock: tuple[int, int] | None = None,
) -> list[Proposal]:  # fmt: skip
    """Ask and tell ``trials`` times, with two proposals out at a time; the proposals.

    With ``clock`` (observations before this call, observations that spend the time
    limit), each feedback carries the share of a time limit spent so far."""
    if strategy is None:
        strategy = _make(cls, space, fake, seed, trials, settings)
        _run_phase(strategy)
    seen: set[str] = set()
    proposals: list[Proposal] = []
    observed = 0 if clock is None else clock[0]
    while len(proposals) < trials:
        batch = [strategy.propose() for _ in range(min(2, trials - len(proposals)))]
        for proposal in batch:
            _check_proposal(space, proposal)
            key = str(proposal.architecture)
            result = fake.evaluate(proposal.architecture, seed)
            observed += 1
            share = None if clock is None else min(1.0, observed / clock[1])
            strategy.observe(Feedback(proposal, result.val_acc, result, key not in seen, share))
            seen.add(key)
        proposals += batch
    return proposals


def _check_proposal(space: SearchSpace[Any], proposal: Proposal) -> None:
    assert isinstance(proposal, Proposal), f"propose() returned {type(proposal).__name__}"
    state = space.rollout(proposal.actions)  # raises ValueError on an illegal action
    assert space.is_terminal(state), f"the actions of {proposal.architecture} do not end it"
    assert space.architecture(state) == proposal.architecture, (
        f"the actions build {space.architecture(state)}, not {proposal.architecture}"
    )
    assert all(isinstance(v, (int, float)) for v in proposal.info.values()), proposal.info


def _check_resume(
    cls: type[Strategy], space: SearchSpace[Any], fake: FakeEvaluator, seed: int, trials: int,
    settings: dict[str, Any],
) -> None:  # fmt: skip
    """Half the trials, a checkpoint through pickle, then the other half twice: by the
    original and by a fresh strategy restored from the checkpoint. The search has a time
    limit that two thirds of the budget's trials spend, so the time runs ahead of the
    trials and a strategy that keeps pace with it must checkpoint where it was."""
    original = _make(cls, space, fake, seed, trials, settings)
    _run_phase(original)
    half, pace = trials // 2, max(1, 2 * trials // 3)
    _drive(cls, space, fake, seed, half, settings, strategy=original, clock=(0, pace))
    checkpoint = pickle.loads(pickle.dumps(original.state_dict(), protocol=5))
    restored = _make(cls, space, fake, seed, trials, settings)
    restored.load_state_dict(checkpoint)
    rest, clock = trials - half, (half, pace)
    after = _drive(cls, space, fake, seed, rest, settings, strategy=original, clock=clock)
    again = _drive(cls, space, fake, seed, rest, settings, strategy=restored, clock=clock)
    assert again == after, "a strategy restored from its checkpoint proposed differently"
