"""A bare container in a cgroup that holds a busy process of the host too: the container's CPU is its
busy child's, not the cgroup's (which counts the neighbour), and its figures say they are its processes'."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import run

from cgscope.fs.hostroot import HostRoot
from cgscope.sampling import Frame, Sampler

from .containers import (
    PREFIX,
    bare_container,
    cgroup_hierarchies,
    children,
    create_test_cgroup,
    kill_and_reap,
    temp_cgroup,
    wait_until,
)
from .usage import BUSY_LOOP, MIB

SECONDS = 2.5
HZ = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def container_percent(frame: Frame, init_pid: int) -> tuple[float, str]:
    rows = [r for r in frame.container_usage.values() if r.watched.container.init_pid == init_pid]
    assert len(rows) == 1 and rows[0].watched.shared
    cpu = rows[0].usage.cpu
    assert cpu is not None and cpu.host_percent is not None
    return cpu.host_percent, rows[0].usage.source


def test_a_bare_containers_cpu_is_its_childs_not_its_cgroups(needs_unshare: None) -> None:
    with temp_cgroup() as cg:
        joins = "".join(f"echo $$ > '{f}' && " for f in cg.procs_files())
        neighbour = subprocess.Popen(["sh", "-c", f"{joins}exec sh -c '{BUSY_LOOP}'"])
        try:
            script = f"sh -c '{BUSY_LOOP}' & wait"
            with bare_container(script, members=2, member_comm="sh", cgroup=cg) as bc:
                (busy,) = children(bc.init_pid)
                sampler = Sampler(HostRoot.live())
                sampler.sample(frozenset())
                ticks = {p: cpu_ticks(p) for p in (busy, neighbour.pid)}
                started = time.monotonic()
                time.sleep(SECONDS)
                frame = sampler.sample(frozenset())
                elapsed = time.monotonic() - started
                used = {p: (cpu_ticks(p) - t) / HZ / elapsed * 100 for p, t in ticks.items()}
                percent, source = container_percent(frame, bc.init_pid)
                assert source == "processes"
                assert (
                    used[neighbour.pid] > 20
                )  # the neighbour ran: were it counted, the figure would show it
                assert abs(percent - used[busy]) <= 5, (percent, used)
                assert frame.usage is not None and frame.usage.source == "cgroup"
                host = frame.usage.cpu.host_percent if frame.usage.cpu is not None else None
                assert host is not None and host >= percent + used[neighbour.pid] - 10
                data = json.loads(run("top", "--json", "-d", "0.5"))
                row = next(c for c in data["containers"] if c["init_pid"] == bc.init_pid)
                assert (row["source"], row["shared_cgroup"]) == ("processes", True)
                assert row["io"] is None or row["io"]["read_ops_per_s"] is None
        finally:
            kill_and_reap(neighbour)


# The container's child: once `go` exists, write WRITTEN bytes with O_DIRECT (buffered and fsync'd where
# the filesystem refuses O_DIRECT), say so in `done`, then wait to be killed.
WRITER = """
import mmap, os, sys, time
d = sys.argv[1]
while not os.path.exists(d + '/go'):
    time.sleep(0.02)
buf = mmap.mmap(-1, 1 << 20)  # page-aligned, as O_DIRECT wants
try:
    fd = os.open(d + '/inner', os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
except OSError:
    fd = os.open(d + '/inner', os.O_WRONLY | os.O_CREAT, 0o600)
for _ in range(16):
    os.write(fd, buf)
os.fsync(fd)
os.close(fd)
open(d + '/done', 'w').close()
time.sleep(1000)
"""
WRITTEN = 16 * MIB


def host_write(path: Path, size: int) -> None:
    """IO of the host's own, beside the container's: buffered, then fsync'd to the disk."""
    with path.open("wb") as f:
        for _ in range(size // MIB):
            f.write(b"h" * MIB)
        f.flush()
        os.fsync(f.fileno())


@pytest.mark.parametrize("joined", [("", "memory", "cpu"), ("memory", "cpu")], ids=["cgroup2", "v1-only"])
def test_a_bare_containers_io_is_its_own_not_the_root_blkio_cgroups(
    needs_unshare: None, joined: tuple[str, ...]
) -> None:
    """In cgroups of its own in memory and cpu (and cgroup2, the primary hierarchy, or not) but left in
    this session's blkio cgroup (the root, here) and cpuacct and pids: its IO is its processes', not
    the host's, its memory its own memory cgroup's, and the figures say which are which."""
    hierarchies = cgroup_hierarchies()
    if not any(h.version == 1 and "blkio" in h.key.split(",") for h in hierarchies):
        pytest.skip("needs a cgroup v1 blkio hierarchy (a v1 or hybrid host)")
    own = [h for h in hierarchies if h.key in joined]
    with tempfile.TemporaryDirectory(prefix=PREFIX, dir="/var/tmp") as scratch:  # on a disk, not tmpfs
        work = Path(scratch)
        (work / "writer.py").write_text(WRITER)
        cg = create_test_cgroup(hierarchies=own)
        try:
            script = f"{sys.executable} {work}/writer.py {work} & wait"
            with bare_container(script, members=2, member_comm=None, cgroup=cg) as bc:
                sampler = Sampler(HostRoot.live())
                sampler.sample(frozenset())
                (work / "go").touch()
                host_write(work / "outer", 2 * WRITTEN)
                wait_until((work / "done").exists, 30, "the container's writes")
                frame = sampler.sample(frozenset())
                [row] = [
                    r for r in frame.container_usage.values() if r.watched.container.init_pid == bc.init_pid
                ]
                usage, io, host = row.usage, row.usage.io, frame.usage
                assert row.watched.shared == ("" not in joined)  # the primary hierarchy's: cgroup2
                assert {"io", "tasks"} <= usage.from_processes
                assert usage.source_of("memory") == "cgroup" and usage.source_of("io") == "processes"
                assert io is not None and usage.interval is not None
                written = round(io.write_bytes_per_s * usage.interval)  # a rate times its interval
                assert WRITTEN <= written <= WRITTEN + 2 * MIB, written  # its own, not the host's
                assert host is not None and host.io is not None and host.interval is not None
                assert host.io.write_bytes_per_s * host.interval >= 3 * WRITTEN - MIB  # the host's: both
                data = json.loads(run("top", "--json", "-d", "0.2"))
                [shown] = [c for c in data["containers"] if c["init_pid"] == bc.init_pid]
                assert shown["sources"]["io"] == "processes" and shown["io"]["write_ops_per_s"] is None
        finally:
            cg.remove()
