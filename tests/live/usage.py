"""What the live usage tests share: limits written by hand to a test cgroup, a busy loop, a retry."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import run

from .containers import BareContainer, TestCgroup, bare_container, wait_until

MIB = 1 << 20


BUSY_LOOP = "while :; do :; done"


def controller_dir(cg: TestCgroup, controller: str) -> tuple[Path, int]:
    """The test cgroup's directory in the hierarchy holding `controller`, and its cgroup version."""
    for key, directory in cg.dirs.items():
        if controller in key.split(","):
            return directory, 1
    return cg.dirs[""], 2


def set_quota(cg: TestCgroup, quota_us: int, period_us: int = 100_000) -> None:
    d, version = controller_dir(cg, "cpu")
    if version == 1:
        (d / "cpu.cfs_period_us").write_text(str(period_us))
        (d / "cpu.cfs_quota_us").write_text(str(quota_us))
    else:
        (d / "cpu.max").write_text(f"{quota_us} {period_us}")


def set_memory_limit(cg: TestCgroup, limit: int) -> None:
    d, version = controller_dir(cg, "memory")
    (d / ("memory.limit_in_bytes" if version == 1 else "memory.max")).write_text(str(limit))


def retry_once(check: Callable[[], None]) -> None:
    """Run a CPU-accuracy check again if it fails once: other work on a shared 2-CPU machine may starve
    the loop for a moment."""
    try:
        check()
    except AssertionError:
        check()


# One process holding 100 MiB it has written to (bytes * n fills the buffer: every page is touched).
HOLD_100M = f"exec {sys.executable} -c 'import time; b = b\"x\" * (100 << 20); time.sleep(1000)'"


def top_row(bc: BareContainer, delay: float, *extra: str) -> dict[str, Any]:
    """This container's row of `cgscope top --json -d DELAY`."""
    data = json.loads(run("top", "--json", "-d", str(delay), *extra))
    rows: list[dict[str, Any]] = [c for c in data["containers"] if c["id"] == f"pid-{bc.namespaces['pid']}"]
    [row] = rows
    row["processes"] = data.get("processes")
    return row


def set_cpus(cg: TestCgroup, cpus: str) -> None:
    d, _ = controller_dir(cg, "cpuset")
    (d / "cpuset.cpus").write_text(cpus)


def kernel_memory_usage(cg: TestCgroup) -> int:
    d, version = controller_dir(cg, "memory")
    return int((d / ("memory.usage_in_bytes" if version == 1 else "memory.current")).read_text())


def host_cpus() -> int:
    return len(re.findall(r"^processor\s*:", Path("/proc/cpuinfo").read_text(), re.M))


def check_busy_loop_capped_at_20_percent(delay: float = 3.0) -> None:
    with bare_container(script=BUSY_LOOP, members=1, member_comm=None) as bc:
        set_quota(bc.cgroup, 20_000)

        def check() -> None:
            row = top_row(bc, delay)
            cpu = row["cpu"]
            assert (cpu["quota_cpus"], cpu["limit_cpus"]) == (0.2, 0.2)
            assert 17 <= cpu["host_percent"] <= 23, cpu
            assert 85 <= cpu["limit_percent"] <= 115, cpu
            assert cpu["throttled_percent"] > 50, cpu  # a busy loop hits its quota nearly every period

        retry_once(check)

        def check_process() -> None:
            # `top CONTAINER`: the loop itself, pid 1 inside, at the same 20 %
            row = top_row(bc, 1.0, str(bc.init_pid))
            by_pid = {p["pid"]: p for p in row["processes"]}
            init = by_pid[bc.init_pid]
            assert init["nspid"] == 1 and init["state"] == "R"
            assert 15 <= init["cpu_percent"] <= 25, init
            assert by_pid[bc.unshare_pid]["nspid"] is None  # in the host's pid namespace: none inside

        retry_once(check_process)
        cpuinfo = run("procview", str(bc.init_pid), "cpuinfo")
        assert len(re.findall(r"^processor\t: \d+$", cpuinfo, re.M)) == 1  # ceil(20000 / 100000)


def check_cpuset_of_one_cpu() -> None:
    with bare_container() as bc:
        set_cpus(bc.cgroup, "0")
        cpuinfo = run("procview", str(bc.init_pid), "cpuinfo")
        assert re.findall(r"^processor\t: (\d+)$", cpuinfo, re.M) == ["0"]
        assert run("procview", str(bc.init_pid), "online") == "0\n"
        assert top_row(bc, 0.2)["cpu"]["limit_cpus"] == 1.0


def check_memory_held_under_a_limit() -> None:
    with bare_container(script=HOLD_100M, members=1, member_comm=None, timeout=60) as bc:
        set_memory_limit(bc.cgroup, 256 * MIB)
        wait_until(lambda: kernel_memory_usage(bc.cgroup) >= 100 * MIB, 60, "100 MiB charged")
        row = top_row(bc, 0.2)
        kernel = kernel_memory_usage(bc.cgroup)
        mem = row["memory"]
        assert abs(mem["usage_bytes"] - kernel) <= 0.1 * kernel, (mem, kernel)
        assert mem["usage_bytes"] >= 100 * MIB and mem["limit_bytes"] == 256 * MIB
        assert mem["limit_percent"] == pytest.approx(mem["usage_bytes"] / (256 * MIB) * 100, abs=0.01)
        assert mem["working_set_bytes"] >= 100 * MIB  # anonymous memory: none of it inactive file cache
        before = kernel_memory_usage(bc.cgroup)
        meminfo = run("procview", str(bc.init_pid), "meminfo")
        after = kernel_memory_usage(bc.cgroup)
        lines = meminfo.splitlines()
        assert lines[0] == "MemTotal:         262144 kB"
        free = int(lines[1].split()[1])
        assert lines[1].startswith("MemFree:")
        low, high = sorted((262144 - before // 1024, 262144 - after // 1024))
        assert low - 1024 <= free <= high + 1024, (free, before, after)  # usage moves by a few pages
        assert free <= (256 - 100) * 1024


def check_unlimited_cgroup_sees_the_host() -> None:
    with bare_container() as bc:
        meminfo = run("procview", str(bc.init_pid), "meminfo")
        host_total = Path("/proc/meminfo").read_text().splitlines()[0]
        assert meminfo.splitlines()[0] == host_total
        cpuinfo = run("procview", str(bc.init_pid), "cpuinfo")
        assert len(re.findall(r"^processor\t: \d+$", cpuinfo, re.M)) == host_cpus()
        row = top_row(bc, 0.2)
        assert row["memory"]["limit_bytes"] is None and row["memory"]["limit_percent"] is None
        assert row["cpu"]["quota_cpus"] is None and row["cpu"]["limit_cpus"] == host_cpus()
