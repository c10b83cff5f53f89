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

from .containers import bare_container
from .recorder import recording
from .usage import BUSY_LOOP, MIB, controller_dir, set_memory_limit, set_quota

VICTIM = "cgscope-hog"
# Joins the cgroup (the cgroup.procs files are its arguments), names itself, then writes 256 MiB.
HOG = f"""
import ctypes, sys, time
for f in sys.argv[1:]:
    open(f, "w").write("0")
ctypes.CDLL(None).prctl(15, b"{VICTIM}", 0, 0, 0)  # PR_SET_NAME: its comm
time.sleep(0.5)
chunks = [b"x" * (16 << 20) for _ in range(16)]
"""


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
            hog = subprocess.Popen([sys.executable, "-c", HOG, *map(str, bc.cgroup.procs_files())])
            assert hog.wait(30) == -9  # SIGKILL: the OOM killer's
            time.sleep(2)
            cid = f"pid-{bc.namespaces['pid']}"
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
    mine = [(e.kind, e.detail) for e in events if e.container["id"] == cid]
    assert ("oom_kill", {"victim_pid": hog.pid, "victim_comm": VICTIM}) in mine, mine
    assert mine[-1] == ("exited", {}), mine
