"""A pid reused between the reads of one process's files never makes a record of two processes: the
collector reads a process through one /proc/PID directory (fs/piddir.py), and the old directory's reads
fail once its process is reaped. Reuse is forced in a pid namespace of the test's own (tests/live/
pidreuse.py sets the namespace's ns_last_pid before each fork); pid_max is the namespace's own on this
kernel but left alone, as the host's is."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cgscope.errors import ProcessGone
from cgscope.fs import procfs
from cgscope.fs.piddir import PidDir

from .conftest import require_root_and

HELPER = Path(__file__).with_name("pidreuse.py")
GENERATIONS = 2000


def test_a_reused_pid_never_mixes_two_processes() -> None:
    require_root_and("unshare")
    cmd = ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, str(HELPER), str(GENERATIONS)]
    run = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, _ = run.communicate(timeout=300)
    finally:
        if run.poll() is None:  # the namespace's processes die with its pid 1
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert run.returncode == 0
    seen = json.loads(out)
    assert seen["reused"] == GENERATIONS  # every churned process got the one pid
    assert seen["records"] > 0 and seen["generations_read"] > 20  # read many of them, settled
    # /proc/PID held open across a kill, reap and respawn under the same pid: gone, while the path
    # names the new process
    assert seen["held"] == seen["held_gone"] == seen["path_reads_the_new_one"] == 20, seen
    # churned: through the directory, never a record of two processes (by path, stat and status read
    # two now and then: by_path_mixed, 0 to 60 of 2,000 generations here, as the timing falls)
    assert seen["mixed"] == 0, seen


def test_the_directory_of_a_reaped_process_reads_nothing() -> None:
    """Once its process is reaped, an open /proc/PID is gone, whoever holds the pid next."""
    child = subprocess.Popen(["sleep", "100"])
    try:
        with PidDir.opened(Path("/proc"), child.pid) as d:
            assert procfs.stat_of(d, child.pid).comm == "sleep" and not d.gone()
            child.kill()
            child.wait()
            assert d.gone()
            with pytest.raises(ProcessGone):
                procfs.stat_of(d, child.pid)
            with pytest.raises(ProcessGone):
                procfs.ns_of(d)
    finally:
        child.kill()
        child.wait()
