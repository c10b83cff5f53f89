"""The lane itself: the guest is pure cgroup v2 and lets a test create, limit and remove a cgroup."""

from __future__ import annotations

from pathlib import Path

CONTROLLERS = {"cpu", "memory", "pids", "cpuset", "io"}


def test_only_cgroup2_is_mounted(cgroup_mounts: list[tuple[str, str, str]], cgroup2_root: Path) -> None:
    assert {fstype for fstype, _, _ in cgroup_mounts} == {"cgroup2"}
    assert cgroup2_root == Path("/sys/fs/cgroup")


def test_controllers_enabled_at_root(cgroup2_root: Path) -> None:
    enabled = set((cgroup2_root / "cgroup.subtree_control").read_text().split())
    assert enabled >= CONTROLLERS


def test_cpu_max_round_trip(scratch_cgroup: Path) -> None:
    assert scratch_cgroup.name.startswith("cgscope-test-")
    assert set((scratch_cgroup / "cgroup.controllers").read_text().split()) >= CONTROLLERS
    (scratch_cgroup / "cpu.max").write_text("20000 100000")
    assert (scratch_cgroup / "cpu.max").read_text() == "20000 100000\n"
