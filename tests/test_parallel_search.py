"""The search on local worker processes: same answers as inline, nothing trained twice,
killed workers survived, and resume after a killed or interrupted driver loses nothing."""

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import torch

from rlnas.arch import parse
from rlnas.config import SearchConfig
from rlnas.export import load_trained
from rlnas.search import build_evaluator, run_search, trial_seed
from rlnas.spaces import make_space
from rlnas.store import PendingState, Store
from rlnas.strategies import STRATEGIES, Proposal, RandomSearch
from rlnas.testing import FakeEvaluator, FaultyEvaluator

SPACE = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)


def rows(run_dir):
    with Store(run_dir / "trials.db") as store:
        trials = [dataclasses.replace(t, created=0.0) for t in store.trials()]
        return trials, store.finals(), store.checkpoint()


def check_answers(trials, inner, seed):
    """Each proposal is answered with what the evaluator gives its architecture, trained
    with the architecture's own seed (so not depending on the worker), or with a failure."""
    for t in trials:
        if t.result.ok:
            assert t.result == inner.evaluate(parse(t.arch), trial_seed(seed, t.arch))


def test_one_process_worker_gives_the_inline_store(tmp_path):
    config = SearchConfig(budget=40, seed=3, top_k=2, prune=True)
    inline = dataclasses.replace(config, run_dir=str(tmp_path / "inline"))
    pooled = dataclasses.replace(config, executor="process", run_dir=str(tmp_path / "pool"))
    run_search(inline, evaluator=FakeEvaluator(SPACE, seed=1, noise=0.02, epochs=4))
    run_search(pooled, evaluator=FakeEvaluator(SPACE, seed=1, noise=0.02, epochs=4))
    assert rows(tmp_path / "pool") == rows(tmp_path / "inline")


class Twice(RandomSearch):
    """Random search that proposes every architecture twice in a row: the second asks for
    an architecture that is being trained (a worker is free for it)."""

    name = "twice"

    def __init__(self, space, *, budget, seed):
        super().__init__(space, budget=budget, seed=seed)
        self.last: Proposal | None = None
        self.observed = 0

    def propose(self):
        if self.last is not None:
            proposal, self.last = self.last, None
            return proposal
        self.last = super().propose()
        return self.last

    def observe(self, feedback):
        self.observed += 1

    def state_dict(self):
        return {**super().state_dict(), "last": self.last, "observed": self.observed}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.last, self.observed = state["last"], state["observed"]


@pytest.mark.slow
def test_two_workers_train_each_architecture_once_and_share_in_flight_results(
    tmp_path, monkeypatch
):
    monkeypatch.setitem(STRATEGIES, "twice", Twice)
    inner = FakeEvaluator(SPACE, seed=1, noise=0.02)
    evaluator = FaultyEvaluator(inner, tmp_path / "marks", delay=0.3)
    config = SearchConfig(
        strategy="twice", budget=12, seed=1, top_k=0, executor="process", workers=2,
        run_dir=str(tmp_path / "run"),
    )  # fmt: skip
    summary = run_search(config, evaluator=evaluator)
    trials = summary.trials
    assert summary.stopped == "budget"
    new = [t for t in trials if t.new]
    assert len(new) == 12 and len({t.arch for t in new}) == 12
    assert all(evaluator.attempts(t.arch) == 1 for t in new)  # never started twice
    check_answers(trials, inner, config.seed)
    first = {t.arch: t for t in new}
    assert all(t.result == first[t.arch].result for t in trials)  # one result serves all
    # A twin proposed while a worker was free joins the running job: always the first
    # pair; later twins too when their original is still training (it depends on timing).
    waited = [t for t in trials if t.info.get("waited")]
    first_proposal = Twice(SPACE, budget=12, seed=1).propose().architecture
    assert str(first_proposal) in {t.arch for t in waited}
    assert all(first[t.arch].id < t.id and not t.new for t in waited)
    checkpoint = rows(tmp_path / "run")[2][1]
    assert checkpoint["observed"] == len(trials)  # the strategy saw every trial once
    # Two workers: well under the time of 12 trials of 0.3 s one after the other.
    assert summary.search_seconds < 0.8 * 12 * 0.3


@pytest.mark.slow
def test_killed_workers_are_survived_and_hopeless_trials_fail_with_the_reason(tmp_path):
    inner = FakeEvaluator(SPACE, seed=1, noise=0.02)
    evaluator = FaultyEvaluator(inner, tmp_path / "marks", die_once=0.3, die_always=0.15)
    # Random search: the architectures (so the kills) do not depend on finishing order.
    config = SearchConfig(
        strategy="random", budget=14, seed=0, top_k=0, executor="process", workers=2,
        max_retries=1, run_dir=str(tmp_path / "run"),
    )  # fmt: skip
    summary = run_search(config, evaluator=evaluator)
    new = [t for t in summary.trials if t.new]
    assert summary.stopped == "budget" and len(new) == 14 and len({t.arch for t in new}) == 14
    fates = {t.arch: evaluator.fate(t.arch) for t in new}
    assert sorted(fates.values()).count("once") == 1
    assert sorted(fates.values()).count("always") == 2
    for t in new:
        if fates[t.arch] == "ok":
            assert t.result.ok and evaluator.attempts(t.arch) == 1
        elif fates[t.arch] == "once":  # killed once, run again, fine
            assert t.result.ok and evaluator.attempts(t.arch) == 2
            assert t.info["worker_lost"] == 1
        else:  # killed on every attempt: 1 + max_retries, then failed with the reason
            assert not t.result.ok and evaluator.attempts(t.arch) == 2
            assert "worker lost 2 times" in t.result.error and "SIGKILL" in t.result.error
    check_answers(summary.trials, inner, config.seed)


@pytest.mark.slow
def test_two_workers_on_digits_give_what_one_process_gives(tmp_path):
    config = SearchConfig(
        budget=4, epochs=1, subset=300, seed=5, top_k=1, final_epochs=1, device="cpu",
        threads=1, executor="process", workers=2, run_dir=str(tmp_path / "run"),
        train_settings={"max_restarts": 0},  # no second tries: faster, same check
        shortlist=2, shortlist_epochs=1,
    )  # fmt: skip
    summary = run_search(config)
    evaluator = build_evaluator(config)  # the same data and split, in this process
    assert summary.stopped == "budget" and sum(t.new for t in summary.trials) == 4
    (final,) = summary.finals
    assert 0 <= final.test_acc <= 1 and final.result["shortlist_acc"] > 0
    # the workers trained the finalist; the driver wrote its weights, which export loads
    trained = load_trained(tmp_path / "run")  # rank 1: the first finalist
    assert str(trained.arch) == final.arch and trained.test_acc == final.test_acc
    threads = torch.get_num_threads()
    try:  # trained again here, in the test's process, with the trial's seed
        shortlisted = evaluator.shortlist_score(parse(final.arch), trial_seed(5, final.arch), 1)
        assert shortlisted.val_acc == final.result["shortlist_acc"]
        for t in summary.trials:
            again = evaluator.evaluate(parse(t.arch), trial_seed(config.seed, t.arch))
            assert again.val_curve == t.result.val_curve and again.params == t.result.params
            assert again.status == t.result.status
    finally:
        torch.set_num_threads(threads)


DRIVER = """
import signal
import sys
from rlnas.config import SearchConfig
from rlnas.search import run_search
from rlnas.spaces import make_space
from rlnas.testing import FakeEvaluator, FaultyEvaluator

def search(run_dir, marks, resume, hang=()):
    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    plan = {n: "hang" for n in hang}  # the n-th architecture never returns on its 1st try
    inner = FakeEvaluator(space, seed=1, noise=0.02)
    evaluator = FaultyEvaluator(inner, marks, delay=0.1, plan=plan)
    config = SearchConfig(budget=12, seed=4, top_k=0, executor="process", workers=2,
                          run_dir=run_dir)
    return run_search(config, resume=resume, evaluator=evaluator)

if __name__ == "__main__":
    # Ctrl-C as on a terminal, whose foreground job has Python's handler even when the
    # test runs where SIGINT is ignored (started with & by a shell without job control)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    hang = [int(n) for n in sys.argv[4].split(",")]
    summary = search(sys.argv[1], sys.argv[2], sys.argv[3] == "resume", hang)
    print(summary.stopped, summary.interrupted, flush=True)
"""


def progress(db):
    """(trials committed, proposals out) as another process sees them."""
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            trials = conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
            pending = conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0]
            return trials, pending
    except sqlite3.OperationalError:
        return 0, 0  # not created yet


def run_then_stop(script, run, marks, mode, hang, at_least, signal_to):
    """Run the driver until ``at_least`` trials are committed with others in flight, then
    send it ``signal_to``; what was stored then. The architectures numbered ``hang`` (in
    the order first tried, over all runs) never return on their first try: with two of
    them the workers are stuck, so the signal finds trials in flight however late it
    comes (a busy machine may run the driver a second after the test looked). They are
    not consecutive: the architecture between them ends after the first hangs, so the
    last commit stores a trial in flight (two ending at once would store none). The
    signal comes once the last of them has started (FaultyEvaluator's ``first.N``)."""
    proc = subprocess.Popen(
        [sys.executable, str(script), str(run), str(marks), mode, ",".join(map(str, hang))],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 120
        while proc.poll() is None:
            trials, pending = progress(run / "trials.db")
            if trials >= at_least and pending and (marks / f"first.{hang[-1]}").exists():
                break  # both workers hang: the driver waits, the state stored is final
            assert time.time() < deadline
            time.sleep(0.01)
        if signal_to == signal.SIGINT:  # Ctrl-C on a terminal: the whole foreground group
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal_to)
        out, _ = proc.communicate(timeout=60)
    finally:  # failed: leave no driver with hung workers behind
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with Store(run / "trials.db") as store:
        trials, pending = store.trials(), store.pending()
    assert sum(t.new for t in trials) < 12 and pending, "stopped too late to test anything"
    return proc.returncode, out, trials, pending


@pytest.mark.slow
def test_ctrl_c_and_sigkill_with_trials_in_flight_then_resume_loses_nothing(tmp_path):
    script, run, marks = tmp_path / "driver.py", tmp_path / "run", tmp_path / "marks"
    script.write_text(DRIVER)

    # Ctrl-C: a graceful stop; the trials in flight are stored as interrupted.
    code, out, first, interrupted = run_then_stop(
        script, run, marks, "new", (5, 7), 3, signal.SIGINT
    )
    assert code == 0, "Ctrl-C must stop the search gracefully"
    assert out.split() == ["interrupted", str(len(interrupted))]
    assert {p.state for p in interrupted} == {PendingState.INTERRUPTED}

    # Resume, then SIGKILL of the driver with trials in flight.
    # Those two run again (a second try); the 10th and 12th architectures hang now.
    at = len(first) + 3
    code, _, second, running = run_then_stop(
        script, run, marks, "resume", (9, 11), at, signal.SIGKILL
    )
    assert code == -signal.SIGKILL
    assert {p.state for p in running} == {PendingState.RUNNING}
    assert second[: len(first)] == first  # nothing committed is changed or lost

    # Resume to the end, here.
    namespace: dict = {}
    exec(compile(DRIVER, str(script), "exec"), namespace)
    summary = namespace["search"](str(run), str(marks), True)
    assert summary.stopped == "budget" and summary.interrupted == 0
    with Store(run / "trials.db") as store:
        trials, checkpoint, left = store.trials(), store.checkpoint(), store.pending()
    assert trials[: len(second)] == second and left == []
    after = [(t.arch, t.actions) for t in trials[len(second) :]]
    assert all((p.arch, p.actions) in after for p in running)  # those killed in flight ran
    since = [(t.arch, t.actions) for t in trials[len(first) :]]
    assert all((p.arch, p.actions) in since for p in interrupted)  # interrupted ones ran
    new = [t for t in trials if t.new]
    assert len(new) == 12 and len({t.arch for t in new}) == 12  # none trained twice
    assert checkpoint is not None and len(checkpoint[1]["memory_rewards"]) == len(trials)
    check_answers(trials, FakeEvaluator(SPACE, seed=1, noise=0.02), 4)
