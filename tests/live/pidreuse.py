"""Run as pid 1 of a pid namespace of its own (`unshare --pid --fork --mount-proc`): holds /proc/PID open
across a kill, reap and respawn of the same pid, then reads one pid through the collector while a
churner kills, reaps and makes again a process under that same pid, and prints what the reads saw as
JSON.

The pid is reused at once by writing the pid before it to /proc/sys/kernel/ns_last_pid before each fork
(pid_namespaces(7)): that file is the namespace's own, so nothing outside it is touched. Each churned
process takes a uid and then a comm (prctl PR_SET_NAME) that both say its generation: a record whose comm
(from stat) names one generation and whose uid (from status) another mixed two processes.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs import procfs
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.piddir import PidDir
from cgscope.fs.status import read_status
from cgscope.model.collect import Collector

PID = 100  # the pid each churned process gets
UID_BASE = 200_000  # a churned process's uid: UID_BASE + its generation
PR_SET_NAME = 15
GENERATIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
LIBC = ctypes.CDLL(None, use_errno=True)


def churned(generation: int) -> None:
    """The churned process: its uid, then its comm, say its generation; then it waits to be killed."""
    uid = UID_BASE + generation
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    LIBC.prctl(PR_SET_NAME, f"g{generation}".encode(), 0, 0, 0)
    while True:
        signal.pause()


def churn(report: int) -> None:
    """Make, kill and reap GENERATIONS processes, each as pid PID; write how many got it."""
    got = 0
    for generation in range(1, GENERATIONS + 1):
        Path("/proc/sys/kernel/ns_last_pid").write_text(f"{PID - 1}\n")
        child = os.fork()
        if child == 0:
            churned(generation)
        got += child == PID
        time.sleep(0.0005 * (generation % 4))  # a lifetime of 0 to 1.5 ms
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    os.write(report, json.dumps({"generations": GENERATIONS, "reused": got}).encode())
    os._exit(0)


def spawn(generation: int) -> int:
    """A churned process of that generation as pid PID, once its comm says so."""
    Path("/proc/sys/kernel/ns_last_pid").write_text(f"{PID - 1}\n")
    child = os.fork()
    if child == 0:
        churned(generation)
    assert child == PID, child
    while procfs.read_comm(Path("/proc"), PID) != f"g{generation}":
        time.sleep(0.001)
    return child


def held_across_reuse(rounds: int) -> dict[str, int]:
    """/proc/PID held open while its process is killed, reaped and another made under the same pid:
    the open directory reads nothing more (gone), the path reads the new process."""
    out = {"held": 0, "held_gone": 0, "path_reads_the_new_one": 0}
    for n in range(rounds):
        old = spawn(2 * n + 1)
        with PidDir.opened(Path("/proc"), PID) as d:
            assert procfs.stat_of(d, PID).comm == f"g{2 * n + 1}"
            os.kill(old, signal.SIGKILL)
            os.waitpid(old, 0)
            new = spawn(2 * n + 2)
            out["held"] += 1
            try:
                procfs.stat_of(d, PID)
            except ProcessGone:
                out["held_gone"] += 1
            out["path_reads_the_new_one"] += procfs.read_stat(Path("/proc"), PID).comm == f"g{2 * n + 2}"
        os.kill(new, signal.SIGKILL)
        os.waitpid(new, 0)
    return out


def mixed(comm: str, uid: int) -> bool | None:
    """Whether comm and uid name two generations; None: not a churned process's settled record."""
    found = re.fullmatch(r"g(\d+)", comm)
    return None if found is None else uid != UID_BASE + int(found[1])


def main() -> None:
    assert os.getpid() == 1, "run as pid 1 of a pid namespace of its own"
    collector = Collector(HostRoot.at(Path("/")))
    held = held_across_reuse(20)  # before the churner: only one process forks at a time
    read_end, write_end = os.pipe()
    churner = os.fork()
    if churner == 0:
        os.close(read_end)
        churn(write_end)
    os.close(write_end)
    seen = {"records": 0, "gone": 0, "mixed": 0, "by_path": 0, "by_path_mixed": 0}
    generations: set[str] = set()
    while os.waitpid(churner, os.WNOHANG) == (0, 0):
        try:
            p = collector.process(PID)  # through one /proc/PID directory
        except (ProcessGone, AccessDenied):
            seen["gone"] += 1
        else:
            if (m := mixed(p.comm, p.uid)) is not None:
                seen["records"] += 1
                seen["mixed"] += m
                generations.add(p.comm)
        try:  # the same two files by path, for comparison: what a reused pid does to them
            stat = procfs.read_stat(collector.host.proc, PID)
            uid = read_status(collector.host.proc, PID).uid
        except (ProcessGone, AccessDenied):
            continue
        if (m := mixed(stat.comm, uid)) is not None:
            seen["by_path"] += 1
            seen["by_path_mixed"] += m
    churned_report = json.loads(os.read(read_end, 4096))
    print(json.dumps({**held, **seen, **churned_report, "generations_read": len(generations)}))


if __name__ == "__main__":
    main()
