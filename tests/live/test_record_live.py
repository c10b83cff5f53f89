"""`cgscope record` at 0.5 s while a container of the test's own runs a busy loop under a 20 % quota, then a
process in it is OOM-killed, then it exits: the store holds frames at ~20 % CPU, the OOM kill with its
victim's pid and command (from /dev/kmsg), and the exit."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from cgscope.history.codec import decode
from cgscope.history.events import Event
from cgscope.history.store import read

from .containers import BareContainer, bare_container, kill_and_reap
from .recorder import recording
from .usage import BUSY_LOOP, MIB, controller_dir, set_memory_limit, set_quota

VICTIM = "cgscope-hog"
# Joins the cgroup (the cgroup.procs files are its arguments), names itself, says its host pid (the
# host's /proc: only the pid namespace is the container's), then writes 256 MiB.
HOG = f"""
import ctypes, os, sys, time
for f in sys.argv[1:]:
    open(f, "w").write("0")
print(os.readlink("/proc/self"), flush=True)
ctypes.CDLL(None).prctl(15, b"{VICTIM}", 0, 0, 0)  # PR_SET_NAME: its comm
time.sleep(0.5)
chunks = [b"x" * (16 << 20) for _ in range(16)]
"""


def run_hog(bc: BareContainer) -> int:
    """Run HOG as one of the container's processes (in its pid namespace, so that its cgroup holds none
    but the container's) until the OOM killer ends it; its host pid."""
    argv = ["nsenter", "-t", str(bc.init_pid), "-p", "--", sys.executable, "-c", HOG]
    hog = subprocess.Popen([*argv, *map(str, bc.cgroup.procs_files())], stdout=subprocess.PIPE)
    with hog:
        try:
            assert hog.stdout is not None
            victim = int(hog.stdout.readline())
            assert hog.wait(30) == -9  # SIGKILL: the OOM killer's (nsenter ends as its child did)
        finally:
            kill_and_reap(hog)
    return victim


def test_cpu_an_oom_kill_and_its_victim_and_the_exit_are_recorded(tmp_path: Path) -> None:
    store = tmp_path / "history"
    with recording(store, 0.5, tmp_path) as rec:
        rec.wait_said("recording every")
        with bare_container(script=f"{BUSY_LOOP} & wait", members=2, member_comm="sh") as bc:
            set_quota(bc.cgroup, 20_000)
            set_memory_limit(bc.cgroup, 64 * MIB)
            memory, version = controller_dir(bc.cgroup, "memory")
            if version == 1 and (memory / "memory.memsw.limit_in_bytes").exists():
                (memory / "memory.memsw.limit_in_bytes").write_text(str(64 * MIB))  # no escape to swap
            busy_from = time.time() + 1.0
            time.sleep(8)
            busy_until = time.time()
            victim = run_hog(bc)
            time.sleep(2)
            cid, init = f"pid-{bc.namespaces['pid']}", bc.init_pid
        time.sleep(2)
        assert rec.stop() == 0
    assert "Traceback" not in rec.said(), rec.said()
    reading = read(store)
    assert reading.warnings == []
    frames = [decode(e.payload) for e in reading.entries if e.kind == "frame"]
    percents = [
        u.usage.cpu.host_percent
        for f in frames
        if busy_from <= f.taken_at <= busy_until and (u := f.container_usage.get(cid)) is not None
        if u.usage.cpu is not None and u.usage.cpu.host_percent is not None
    ]
    assert len(percents) >= 10, percents
    assert 15 <= sum(percents) / len(percents) <= 25, percents
    events = [Event.from_json(e.payload) for e in reading.entries if e.kind == "event"]
    # A bare container's id is its pid namespace's inode, which the kernel gives the next namespace
    # made once this one is gone (anyone's, meanwhile): its init tells the two apart.
    mine = [(e.kind, e.detail) for e in events if (e.container["id"], e.container["init_pid"]) == (cid, init)]
    assert ("oom_kill", {"victim_pid": victim, "victim_comm": VICTIM}) in mine, mine
    assert mine[-1] == ("exited", {}), mine
