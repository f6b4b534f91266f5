import sqlite3

import pytest

from rlnas.results import EvalResult, TrialStatus
from rlnas.store import FinalRecord, Store, StoreError, TrialRecord


def record(i, arch="[SM(10)]", new=True):
    result = EvalResult(TrialStatus.OK, 0.5 + i / 100, 10, params=10, flops=20, seconds=1.5,
                        val_curve=(0.4, 0.5 + i / 100), epochs=2)  # fmt: skip
    return TrialRecord(i, arch, (1, 2), result.val_acc, result, new, {"epsilon": 1.0})


def test_trials_round_trip_with_checkpoint_and_cache(tmp_path):
    with Store(tmp_path / "t.db") as store:
        store.add_trial(record(0, "[C(8,3,1), SM(10)]"), fingerprint="fp", checkpoint={"q": [1, 2]})
        store.add_trial(
            record(1, "[C(8,3,1), SM(10)]", new=False), fingerprint="fp", checkpoint={"q": [3]}
        )
    with Store(tmp_path / "t.db") as store:
        trials = store.trials()
        assert [t.id for t in trials] == [0, 1]
        assert trials[0].result == record(0).result
        assert trials[1].new is False and trials[0].info == {"epsilon": 1.0}
        assert store.checkpoint() == (1, {"q": [3]})
        assert set(store.cache("fp")) == {"[C(8,3,1), SM(10)]"}
        assert store.cache("other") == {}


def test_finished_trials_may_not_be_modified(tmp_path):
    with Store(tmp_path / "t.db") as store:
        store.add_trial(record(0), fingerprint="fp")
    db = sqlite3.connect(tmp_path / "t.db")
    with pytest.raises(sqlite3.DatabaseError, match="may not be modified"):
        db.execute("UPDATE trials SET reward = 1.0")


def test_a_failed_commit_leaves_nothing_behind(tmp_path):
    with Store(tmp_path / "t.db") as store:
        store.add_trial(record(0), fingerprint="fp", checkpoint={"n": 0})
        with pytest.raises(sqlite3.IntegrityError):  # duplicate id: the transaction rolls back
            store.add_trial(record(0, "[GAP(10)]"), fingerprint="fp", checkpoint={"n": 1})
        assert store.checkpoint() == (0, {"n": 0})
        assert set(store.cache("fp")) == {"[SM(10)]"}


def test_finals(tmp_path):
    with Store(tmp_path / "t.db") as store:
        store.add_final(FinalRecord("[SM(10)]", 1, 0.9, 0.88, 20, 3.0, {"failed": None}))
        assert store.finals()[0].test_acc == 0.88


def test_a_file_that_is_not_a_store_is_refused(tmp_path):
    path = tmp_path / "t.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not an rlnas trial store"):
        Store(path)


def test_the_leaderboard_query_ranks_like_the_python_leaderboard(tmp_path):
    """`rlnas show` reads the top rows by SQL; they must be the rows `ranking` gives."""
    import random

    from rlnas.runs import leaderboard

    rng = random.Random(0)
    statuses = [TrialStatus.OK] * 4 + [TrialStatus.FAILED, TrialStatus.PRUNED]
    with Store(tmp_path / "t.db") as store:
        for i in range(300):
            arch = f"[C({rng.randrange(40)},3,1), SM(10)]"  # repeats: first trial counts
            reward = round(rng.random(), 2)  # ties: broken by trial id
            result = EvalResult(rng.choice(statuses), reward, 10, params=i)
            store.add_trial(TrialRecord(i, arch, (), reward, result, True), fingerprint="fp")
        finals = sorted({t.arch for t in store.trials()})[:3]
        for rank, arch in enumerate(reversed(finals), start=1):
            store.add_final(FinalRecord(arch, rank, 0.5, 0.5, 1, 1.0))
        expected = leaderboard(store.trials(), store.finals())
        assert store.count_trials() == 300 and len(expected) == 40
        for limit in (0, 1, 5, 40, 100):
            assert store.leaderboard(limit) == expected[:limit]
