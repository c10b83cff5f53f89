"""`cgscope top` and `procview` measured against the kernel's own counters, live on this machine.

The checks are in tests/live/usage.py, which the cgroup v2 lane runs too (tests/v2/test_v2_top.py): limits
are written to whichever hierarchy holds the controller (v1 cpu.cfs_quota_us, memory.limit_in_bytes,
cpuset.cpus, or v2 cpu.max, memory.max, cpuset.cpus).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run

from .containers import bare_container, unique_name
from .usage import (
    check_busy_loop_capped_at_20_percent,
    check_cpuset_of_one_cpu,
    check_memory_held_under_a_limit,
    check_unlimited_cgroup_sees_the_host,
)

# -- on this machine -----------------------------------------------------------------------------------


pytestmark = pytest.mark.usefixtures("needs_unshare")


def test_busy_loop_capped_at_20_percent() -> None:
    check_busy_loop_capped_at_20_percent()


def test_cpuset_of_one_cpu() -> None:
    check_cpuset_of_one_cpu()


def test_memory_held_under_a_limit() -> None:
    check_memory_held_under_a_limit()


def test_unlimited_cgroup_sees_the_host() -> None:
    check_unlimited_cgroup_sees_the_host()


def test_top_runs_until_n_refreshes() -> None:
    with bare_container():
        start = time.monotonic()
        text = run("top", "-d", "0.3", "-n", "3")
        assert time.monotonic() - start >= 0.9
        assert text.count("(host)") == 3


def test_a_bare_container_started_while_top_runs_shows_in_a_later_refresh(tmp_path: Path) -> None:
    """`unshare -p -f` in a cgroup that was there (this test's own): no cgroup is made, only the pid
    listing shows the new container. Its command is a copy of sleep under a name of the test's own."""
    sleeper = tmp_path / unique_name()[:15]  # comm keeps 15 characters
    shutil.copy("/bin/sleep", sleeper)
    top = subprocess.Popen(
        [sys.executable, "-m", "cgscope", "top", "-d", "0.5", "-n", "8"], stdout=subprocess.PIPE, text=True
    )
    inside = None
    try:
        time.sleep(1.2)
        inside = subprocess.Popen(["unshare", "-p", "-f", "--kill-child", "--mount-proc", str(sleeper), "60"])
        text, _ = top.communicate(timeout=30)
    finally:
        top.kill()
        if inside is not None:
            inside.kill()
            inside.wait()
    refreshes = text.strip().split("\n\n")
    assert len(refreshes) == 8
    assert sleeper.name not in refreshes[0] and sleeper.name in refreshes[-1], text
