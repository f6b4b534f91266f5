"""Ask/tell for your own training loop (as Optuna's ``study.ask()`` / ``study.tell()``):
rlnas proposes, you train and measure, rlnas learns. Stored like a search of the command
line, so ``rlnas show`` and ``rlnas report`` read it, and reopening the run directory
resumes it exactly: the strategy as it was after the last ``tell``, and the architectures
asked but not yet told asked again first.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     with Search(f"{tmp}/run", space="metaqnn-tiny", input_shape=(1, 8, 8), budget=4) as study:
...         while not study.done:
...             arch = study.ask()
...             reward = study.tell(arch, 0.5 + 0.1 * len(arch))  # your validation accuracy
...     with Search(f"{tmp}/run", space="metaqnn-tiny", input_shape=(1, 8, 8), budget=4) as again:
...         print(len(again.trials) == len(study.trials), again.done, again.best.reward > 0.5)
True True True
"""

from __future__ import annotations

import json
import time
from collections import deque
from pathlib import Path
from typing import Any

from rlnas.arch import Architecture
from rlnas.config import SearchConfig
from rlnas.evaluation.rewards import make_reward
from rlnas.results import EvalResult, TrialStatus
from rlnas.runs import leaderboard
from rlnas.search.loop import MAX_REPLAYS_IN_A_ROW
from rlnas.search.resume import check_resumable, run_lock
from rlnas.spaces import SearchSpace, make_space
from rlnas.store import PendingTrial, Store, TrialRecord
from rlnas.strategies import Feedback, Proposal, make_strategy

__all__ = ["Search"]


class Search:
    """A search whose trials you train yourself, stored in ``run_dir``.

    ``space``: a registered name (with ``input_shape`` (C, H, W), ``num_classes`` and
    ``space_settings``) or a :class:`~rlnas.spaces.SearchSpace` object (e.g. a
    :class:`~rlnas.spaces.ChoiceSpace` of your own; it must be built the same way when the
    run is reopened). ``strategy`` and ``strategy_settings`` as for ``rlnas search``;
    ``budget`` counts architectures told; ``reward`` a reward spec of the results told.
    Holds the run's lock while open: :meth:`close` (or ``with``) releases it.
    """

    def __init__(
        self,
        run_dir: str | Path,
        *,
        space: str | SearchSpace[Any] = "metaqnn",
        strategy: str = "qlearning",
        input_shape: tuple[int, int, int] = (1, 28, 28),
        num_classes: int = 10,
        budget: int = 100,
        seed: int = 0,
        reward: str = "accuracy",
        strategy_settings: dict[str, Any] | None = None,
        space_settings: dict[str, Any] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        if isinstance(space, str):
            space = make_space(space, input_shape=input_shape, num_classes=num_classes,
                               overrides=space_settings or {})  # fmt: skip
        self.space = space
        self.config = SearchConfig(
            dataset="ask-tell", strategy=strategy, space=space.name, budget=budget, seed=seed,
            reward=reward, top_k=0, run_dir=str(self.run_dir),
            strategy_settings=dict(strategy_settings or {}),
            space_settings=dict(space_settings or {}),
        )  # fmt: skip
        self.reward = make_reward(reward)
        self.strategy = make_strategy(strategy, space, budget=budget, seed=seed,
                                      **self.config.strategy_settings)  # fmt: skip
        self._lock = run_lock(self.run_dir)
        self._lock.__enter__()
        self.store = Store(self.run_dir / "trials.db")
        self._open(input_shape, num_classes)

    def _open(self, input_shape: tuple[int, int, int], num_classes: int) -> None:
        resume = self.store.get_meta("config") is not None
        check_resumable(self.store, self.config, resume, self.run_dir)
        if not resume:
            self.store.set_meta("config", self.config.to_json())
            self.store.set_meta("space", json.dumps(self.space.config(), default=str))
            self.store.set_meta("input_shape", json.dumps(list(input_shape)))
            self.store.set_meta("evaluator", "ask-tell")
        self.num_classes = num_classes
        self.trials = self.store.trials()
        self.results = {t.arch: t.result for t in self.trials if t.new}
        checkpoint = self.store.checkpoint()
        if checkpoint is not None:
            self.strategy.load_state_dict(checkpoint[1])
        #: asked, not yet told: by architecture, the proposals in the order they were asked
        self.out: dict[str, deque[tuple[int, Proposal]]] = {}
        self.again = deque(self.store.pending()) if checkpoint is not None else deque()
        self.asked = max((p.seq + 1 for p in self.again), default=len(self.trials))

    @property
    def done(self) -> bool:
        """True once ``budget`` architectures have been told."""
        return len(self.results) >= self.config.budget

    @property
    def best(self) -> TrialRecord:
        """The best trial so far (``ValueError`` before the first)."""
        ranked = leaderboard(self.trials)
        if not ranked:
            raise ValueError("nothing has been told yet")
        return ranked[0]

    def ask(self) -> Architecture:
        """The next architecture to train. One that was told before is answered from the
        store without asking you (the strategy learns from it again, as in a search)."""
        for _ in range(MAX_REPLAYS_IN_A_ROW):
            if self.again:  # asked before the run was closed: ask it again first
                pending = self.again.popleft()
                seq, proposal = pending.seq, Proposal(
                    self.space.architecture(self.space.rollout(pending.actions)),
                    pending.actions, pending.info,
                )  # fmt: skip
            else:
                seq, proposal = self.asked, self.strategy.propose()
                self.asked += 1
            key = str(proposal.architecture)
            if key in self.results:
                self._commit(proposal, self.results[key], new=False)
                continue
            self.out.setdefault(key, deque()).append((seq, proposal))
            self.store.save_pending(self._pending(), checkpoint=self.strategy.state_dict(),
                                    trial_id=len(self.trials) - 1)  # fmt: skip
            return proposal.architecture
        raise RuntimeError(
            f"the strategy proposed only architectures it knows {MAX_REPLAYS_IN_A_ROW} times "
            "in a row: it has converged"
        )

    def tell(
        self,
        arch: Architecture | str,
        accuracy: float | None,
        *,
        failed: str | None = None,
        params: int = 0,
        flops: int = 0,
        seconds: float = 0.0,
        curve: tuple[float, ...] = (),
        latency_ms: float | None = None,
    ) -> float:
        """Report the validation ``accuracy`` of an architecture :meth:`ask` gave (None, or
        ``failed="why"``: the training failed); returns the reward the strategy learned."""
        key = str(arch)
        waiting = self.out.get(key)
        if not waiting:
            raise ValueError(f"{key} was not asked (or was told already); tell what ask gave")
        if failed is None and accuracy is None:
            failed = "no accuracy told"
        status = TrialStatus.FAILED if failed else TrialStatus.OK
        value = 1.0 / self.num_classes if failed else float(accuracy)  # type: ignore[arg-type]
        result = EvalResult(
            status, value, self.num_classes, params=params, flops=flops, seconds=seconds,
            val_curve=tuple(curve) or (value,), epochs=len(curve), error=failed,
            latency_ms=latency_ms,
        )  # fmt: skip
        self.results[key] = result
        _, proposal = waiting.popleft()
        if not waiting:
            del self.out[key]
        return self._commit(proposal, result, new=True)

    def _commit(self, proposal: Proposal, result: EvalResult, *, new: bool) -> float:
        reward = float(self.reward(result))
        self.strategy.observe(Feedback(proposal, reward, result, new))
        record = TrialRecord(len(self.trials), str(proposal.architecture), proposal.actions,
                             reward, result, new, dict(proposal.info), time.time())  # fmt: skip
        self.store.add_trial(
            record, fingerprint="ask-tell", checkpoint=self.strategy.state_dict(),
            pending=self._pending(),
        )  # fmt: skip
        self.trials.append(record)
        return reward

    def _pending(self) -> list[PendingTrial]:
        out = [
            PendingTrial(seq, key, p.actions, dict(p.info))
            for key, queue in self.out.items()
            for seq, p in queue
        ]
        return sorted([*self.again, *out], key=lambda p: p.seq)

    def close(self) -> None:
        """Close the store and release the run's lock (reopening resumes)."""
        self.store.close()
        self._lock.__exit__(None, None, None)

    def __enter__(self) -> Search:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Search({str(self.run_dir)!r}, {len(self.results)}/{self.config.budget} told)"
