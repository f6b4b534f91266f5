"""Proposals out at a checkpoint: stored with it, marked on Ctrl-C, run again on resume."""

import dataclasses

from rlnas.config import SearchConfig
from rlnas.results import EvalResult, TrialStatus
from rlnas.search import run_search
from rlnas.spaces import make_space
from rlnas.store import PendingState, PendingTrial, Store, TrialRecord
from rlnas.testing import FakeEvaluator

SPACE = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)


def trial(i):
    result = EvalResult(TrialStatus.OK, 0.5, 10)
    return TrialRecord(i, "[SM(10)]", (1,), 0.5, result, i == 0)


def test_pending_proposals_are_replaced_with_each_commit_and_marked_on_ctrl_c(tmp_path):
    out = [
        PendingTrial(3, "[GAP(10)]", (2,), {"epsilon": 1.0}, 1),
        PendingTrial(4, "[SM(10)]", (1,)),
    ]
    with Store(tmp_path / "t.db") as store:
        store.add_trial(trial(0), fingerprint="f", checkpoint={"n": 0}, pending=out)
        assert store.pending() == out
        store.add_trial(trial(1), fingerprint="f", checkpoint={"n": 1})  # None: unchanged
        assert store.pending() == out
        store.add_trial(trial(2), fingerprint="f", checkpoint={"n": 2}, pending=out[1:])
        assert store.pending() == out[1:]
        assert store.interrupt_pending() == 1
        assert [p.state for p in store.pending()] == [PendingState.INTERRUPTED]
        store.save_pending(out, checkpoint={"n": 9}, trial_id=2)
        assert store.pending() == out and store.checkpoint() == (2, {"n": 9})
    with Store(tmp_path / "t.db") as store:
        assert store.pending() == out and len(store.trials()) == 3


class Interrupting(FakeEvaluator):
    """Ctrl-C arrives while it trains its n-th model."""

    def __init__(self, after):
        super().__init__(SPACE, seed=1, noise=0.02)
        self.left = after

    def evaluate(self, arch, seed, *, prune=None):
        self.left -= 1
        if self.left < 0:
            raise KeyboardInterrupt
        return super().evaluate(arch, seed, prune=prune)


def test_ctrl_c_inline_stops_gracefully_and_resume_equals_an_uninterrupted_run(tmp_path):
    config = SearchConfig(budget=30, seed=2, top_k=2)
    whole = run_search(
        dataclasses.replace(config, run_dir=str(tmp_path / "whole")),
        evaluator=FakeEvaluator(SPACE, seed=1, noise=0.02),
    )
    broken = dataclasses.replace(config, run_dir=str(tmp_path / "broken"))
    stopped = run_search(broken, evaluator=Interrupting(12))
    assert stopped.stopped == "interrupted" and stopped.finals == []
    assert stopped.interrupted == 0  # inline: nothing is out between trials
    resumed = run_search(broken, resume=True, evaluator=FakeEvaluator(SPACE, seed=1, noise=0.02))
    strip = [dataclasses.replace(t, created=0.0) for t in resumed.trials]
    assert strip == [dataclasses.replace(t, created=0.0) for t in whole.trials]
    assert resumed.finals == whole.finals
