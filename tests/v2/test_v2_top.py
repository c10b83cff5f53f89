"""The accuracy checks of tests/live/test_top_live.py on a pure cgroup v2 kernel: cpu.max, memory.max and
cpuset.cpus instead of their v1 files."""

from __future__ import annotations

from live.usage import (
    check_busy_loop_capped_at_20_percent,
    check_cpuset_of_one_cpu,
    check_memory_held_under_a_limit,
    check_unlimited_cgroup_sees_the_host,
)


def test_busy_loop_capped_at_20_percent_with_cpu_max() -> None:
    check_busy_loop_capped_at_20_percent()


def test_cpuset_of_one_cpu() -> None:
    check_cpuset_of_one_cpu()


def test_memory_held_under_memory_max() -> None:
    check_memory_held_under_a_limit()


def test_unlimited_cgroup_sees_the_host() -> None:
    check_unlimited_cgroup_sees_the_host()
