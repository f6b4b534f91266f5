"""One writer per run: a second search of a running run is refused, the lock dies with its
holder, readers see a consistent store while a search writes, and a run directory that
cannot be written is one clear line."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from rlnas.cli import main
from rlnas.runs import open_run
from rlnas.search.resume import run_lock
from rlnas.store import StoreError

HOLD = """
import sys, time
from pathlib import Path
from rlnas.search.resume import run_lock
with run_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(120)
"""

SEARCH = """
import sys
from rlnas.config import SearchConfig
from rlnas.search import run_search
from rlnas.spaces import make_space
from rlnas.testing import FakeEvaluator, FaultyEvaluator
space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
fake = FaultyEvaluator(FakeEvaluator(space, seed=1), sys.argv[2], delay=0.02)
run_search(SearchConfig(budget=150, top_k=2, run_dir=sys.argv[1], strategy="random"),
           evaluator=fake)
"""


def test_a_second_search_of_a_run_is_refused_and_the_lock_dies_with_its_holder(tmp_path, capsys):
    run = tmp_path / "run"
    base = ["search", "--dataset", "tabular:digits-tiny", "--top-k", "0", "--run-dir", str(run)]
    assert main([*base, "--budget", "3"]) == 0
    capsys.readouterr()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        code = main(["search", "--resume", "--run-dir", str(run), "--budget", "3"])
        err = capsys.readouterr().err.strip()
        assert code == 2 and "\n" not in err
        assert "is being searched right now" in err and f"pid {holder.pid}" in err
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    with run_lock(run):  # released by the kill
        pass
    assert main(["search", "--resume", "--run-dir", str(run), "--budget", "3"]) == 0


def test_readers_see_a_consistent_store_while_a_search_writes(tmp_path):
    run = tmp_path / "run"
    writer = subprocess.Popen([sys.executable, "-c", SEARCH, str(run), str(tmp_path / "m")])
    reads = 0
    try:
        deadline = time.time() + 120
        while writer.poll() is None and time.time() < deadline:
            if (run / "trials.db").exists():
                try:
                    _, trials, finals = open_run(run)
                except StoreError:
                    continue  # created, not yet initialised
                assert [t.id for t in trials] == list(range(len(trials)))
                assert {f.arch for f in finals} <= {t.arch for t in trials}
                reads += 1
    finally:
        writer.wait(timeout=120)
    assert writer.returncode == 0 and reads > 20
    code = main(["show", str(run), "--json"])
    assert code == 0


def test_a_run_directory_that_cannot_be_written_is_one_line(tmp_path, capsys):
    code = main(["search", "--budget", "2", "--run-dir", "/proc/rlnas-cannot-be-here"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "choose a writable --run-dir" in err


READ_ONLY = """
import sys
from rlnas.cli import main
from rlnas.store import Store, StoreError
run = sys.argv[1]
assert main(["show", run]) == 0
assert main(["search", "--resume", "--run-dir", run]) == 2
try:
    Store(run + "/trials.db")
except StoreError as error:
    assert "read-only" in str(error), error
else:
    raise AssertionError("a read-only store was opened for writing")
"""


#: Root writes anywhere: as root, the check runs without the capabilities that allow it.
AS_A_USER = (
    ["setpriv", "--inh-caps", "-dac_override,-dac_read_search",
     "--bounding-set", "-dac_override,-dac_read_search"]
    if os.geteuid() == 0 else []
)  # fmt: skip


@pytest.mark.skipif(
    AS_A_USER != [] and shutil.which("setpriv") is None,
    reason="as root this needs setpriv (Debian: util-linux) to give up writing anywhere",
)
def test_a_read_only_finished_run_can_be_shown_but_not_resumed(tmp_path):
    run = tmp_path / "run"
    main(["search", "--dataset", "tabular:digits-tiny", "--budget", "3", "--top-k", "0",
          "--run-dir", str(run)])  # fmt: skip
    os.chmod(run, 0o555)
    try:
        proc = subprocess.run(
            [*AS_A_USER, sys.executable, "-c", READ_ONLY, str(run)], capture_output=True,
            text=True, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "choose a writable --run-dir" in proc.stderr
        assert "leaderboard of 3 trials" in proc.stdout
    finally:
        os.chmod(run, 0o755)
