"""Executors meet one contract; local workers never outlive their driver; clear errors."""

import os
import signal
import subprocess
import sys
import time

import pytest

from rlnas.cli import main
from rlnas.executors import InlineExecutor, ProcessExecutor, make_executor
from rlnas.testing import check_executor
from rlnas.testing.executors import Resident, identify


def test_inline_executor_meets_the_contract():
    check_executor(InlineExecutor(Resident("here")), "here")


@pytest.mark.slow
def test_process_executor_meets_the_contract_with_its_own_threads():
    with ProcessExecutor(Resident("pool"), 2, threads=1) as executor:
        check_executor(executor, "pool")
        answers = [executor.submit(identify, i).result(timeout=60) for i in range(4)]
        assert {a.threads for a in answers} == {1}


def test_make_executor_shares_the_cpus_out_among_local_workers():
    with make_executor("process", Resident("x"), workers=2) as executor:
        assert isinstance(executor, ProcessExecutor)
        assert executor.workers == 2
        assert executor.threads == max(1, len(os.sched_getaffinity(0)) // 2)


DRIVER = """
import sys, time
from rlnas.executors import ProcessExecutor
from rlnas.testing.executors import Resident, nap

if __name__ == "__main__":
    executor = ProcessExecutor(Resident("orphan"), 2, threads=1)
    executor.submit(nap, 60)  # one worker busy, one idle: neither may survive the driver
    print(*executor.pids(), flush=True)
    time.sleep(120)
"""


def alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" not in f.read()  # a zombie has exited
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_workers_exit_when_their_driver_is_killed(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2 and all(alive(p) for p in pids)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 20
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in pids), "workers outlived the driver"


def test_a_missing_ray_is_one_clear_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    code = main(["search", "--executor", "ray", "--dataset", "digits", "--run-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == (
        "rlnas: error: --executor ray needs Ray, which is not installed: pip install 'rlnas[ray]'"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--executor", "inline", "--workers", "2"], "use --executor process or --executor ray"),
        (["--executor", "threads"], "unknown executor 'threads'"),
        (["--workers", "0"], "workers must be a positive integer"),
        (["--max-retries", "-1"], "max_retries must be a non-negative integer"),
    ],
)
def test_bad_executor_settings_are_one_clear_line(tmp_path, capsys, args, message):
    code = main(["search", *args, "--run-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_lone_final_gets_the_threads_of_the_idle_workers():
    import torch

    from rlnas.config import SearchConfig
    from rlnas.executors import final_trial
    from rlnas.search.finals import Finals

    class Stub:
        workers, threads = 2, 1

    finals = Finals(SearchConfig(), None, Stub(), None, None)
    assert finals.threads_for(1) == 2 and finals.threads_for(2) is None
    Stub.threads = None  # threads not known (inline, Ray): the worker's own
    assert finals.threads_for(1) is None

    class Recording:
        threads = None

        def final(self, arch, seed, epochs, *, save_to=None):
            self.seen = self.threads
            return "score"

    before = torch.get_num_threads()
    evaluator = Recording()
    assert final_trial(evaluator, None, 0, 1, 2) == ("score", None)
    assert evaluator.seen == 2 and evaluator.threads is None
    assert torch.get_num_threads() == before
