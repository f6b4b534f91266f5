"""The store conformance suite: a trial store must pass :func:`check_store`.

It asserts the protocol the search loop relies on for exact resume (Optuna ships the same
kind of suite for its storages):

>>> import tempfile, pathlib
>>> from rlnas.store import Store
>>> with tempfile.TemporaryDirectory() as tmp:
...     with Store(pathlib.Path(tmp) / "trials.db") as store:
...         check_store(store)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rlnas.results import EvalResult, ShortlistScore, TrialStatus
from rlnas.store import FinalRecord, PendingState, PendingTrial, Store, TrialRecord

__all__ = ["check_store"]


def _trial(i: int, *, new: bool = True) -> TrialRecord:
    result = EvalResult(
        TrialStatus.OK, 0.5 + i / 100, 10, params=100 + i, flops=1000, seconds=1.5,
        val_curve=(0.3, 0.5 + i / 100), train_loss=(1.0, 0.5), epochs=2,
        extra={"note": f"trial {i}"},
    )  # fmt: skip
    return TrialRecord(i, f"[C({8 + i},3,1), SM(10)]", (i, 3), result.val_acc, result, new,
                       {"epsilon": 1.0}, 1_000.0 + i)  # fmt: skip


def check_store(store: Store) -> None:
    """Assert the store protocol on an empty ``store`` (``AssertionError`` says what
    broke), then reopen it from its ``path`` and assert that everything persisted:

    - a trial is committed in one transaction with its cache entry (trained trials only),
      the strategy checkpoint, the proposals out and ``meta`` entries; a commit that
      fails stores none of them;
    - finished trials are never modified or replaced;
    - the proposals out are replaced as a whole, and can be marked interrupted;
    - final scores and shortlist scores round-trip.
    """
    assert store.trials() == [] and store.checkpoint() is None, "the store is not empty"
    assert store.pending() == [] and store.finals() == [] and store.shortlist() == {}
    out = [PendingTrial(2, "[C(4,3,1), SM(10)]", (1, 2), {"epsilon": 0.5})]
    first, replay = _trial(0), dataclasses.replace(_trial(1, new=False), arch=_trial(0).arch)
    store.add_trial(first, fingerprint="fp", checkpoint={"step": 1}, pending=out,
                    meta={"seconds": "3.5"})  # fmt: skip
    store.add_trial(replay, fingerprint="fp", checkpoint={"step": 2}, pending=[])
    _check_contents(store, [first, replay], {"step": 2})
    _check_no_partial_commit(store, [first, replay])
    _check_pending(store)
    final = FinalRecord(first.arch, 1, first.result.val_acc, 0.61, 3, 2.0, {"metrics": {"a": 1}})
    store.add_final(final)
    store.add_shortlisted(first.arch, ShortlistScore(0.62, 5, 4.0))
    assert store.finals() == [final], "a final record did not round-trip"
    assert store.shortlist() == {first.arch: ShortlistScore(0.62, 5, 4.0)}
    with type(store)(store.path) as reopened:
        _check_contents(reopened, [first, replay], {"step": 2})
        assert reopened.finals() == [final] and len(reopened.shortlist()) == 1
        assert reopened.get_meta("seconds") == "3.5", "meta did not persist"


def _check_contents(store: Store, trials: list[TrialRecord], checkpoint: dict[str, Any]) -> None:
    assert store.trials() == trials, "the trials read back differ from those committed"
    trained = {t.arch: t.result for t in trials if t.new}
    assert store.cache("fp") == trained, "the cache holds other than the trained results"
    assert store.cache("another fingerprint") == {}, "the cache ignores the fingerprint"
    assert store.checkpoint() == (trials[-1].id, checkpoint), "the checkpoint is not the last"
    assert store.get_meta("seconds") == "3.5", "meta committed with a trial is missing"


def _check_no_partial_commit(store: Store, trials: list[TrialRecord]) -> None:
    """A commit that fails half way leaves the store as it was."""
    unpicklable = {"function": lambda: None}
    try:
        store.add_trial(_trial(2), fingerprint="fp", checkpoint=unpicklable, meta={"seconds": "9"})
    except Exception:  # whatever the serialiser raises
        pass
    else:
        raise AssertionError("a checkpoint that cannot be stored was accepted")
    again = dataclasses.replace(trials[0], reward=0.0)
    try:
        store.add_trial(again, fingerprint="fp", checkpoint={"step": 9})
    except Exception:  # the database refuses it
        pass
    else:
        raise AssertionError("a finished trial was replaced")
    _check_contents(store, trials, {"step": 2})


def _check_pending(store: Store) -> None:
    out = [
        PendingTrial(3, "[C(4,3,1), SM(10)]", (1, 2), {}, attempts=1),
        PendingTrial(4, "[C(8,3,1), SM(10)]", (3, 2)),
    ]
    store.save_pending(out, checkpoint={"step": 2}, trial_id=1)
    assert store.pending() == out, "the proposals out did not round-trip in order"
    assert store.interrupt_pending() == 2
    assert [p.state for p in store.pending()] == [PendingState.INTERRUPTED] * 2
    store.save_pending([], checkpoint={"step": 2}, trial_id=1)
    assert store.pending() == [], "the proposals out were not replaced"
