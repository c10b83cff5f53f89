"""`cgscope top` and `procview` measured against the kernel's own counters, live on this machine.

The checks are in tests/live/usage.py, which the cgroup v2 lane runs too (tests/v2/test_v2_top.py): limits
are written to whichever hierarchy holds the controller (v1 cpu.cfs_quota_us, memory.limit_in_bytes,
cpuset.cpus, or v2 cpu.max, memory.max, cpuset.cpus).
"""

from __future__ import annotations

import time

import pytest
from helpers import run

from .containers import bare_container
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
