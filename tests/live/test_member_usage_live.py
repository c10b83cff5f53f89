"""A bare container in a cgroup that holds a busy process of the host too: the container's CPU is its
busy child's, not the cgroup's (which counts the neighbour), and its figures say they are its processes'."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from helpers import run

from cgscope.fs.hostroot import HostRoot
from cgscope.sampling import Frame, Sampler

from .containers import bare_container, children, kill_and_reap, temp_cgroup
from .usage import BUSY_LOOP

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
