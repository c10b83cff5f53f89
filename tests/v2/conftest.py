"""The cgroup v2 lane: tests that need a pure cgroup v2 kernel.

Run them with `.ci/v2vm/run.sh python3 -m pytest -q -p no:cacheprovider tests/v2` (a QEMU guest booted with
cgroup_no_v1=all). Every test here is marked `v2`; elsewhere (v1 or hybrid hosts) they are skipped. Inside
the guest (run.sh sets V2VM=1) they are never skipped, so a guest that is not pure v2 fails the lane.

The purity check reads /proc/self/mountinfo itself rather than through cgscope: the code under test must not
decide whether its own tests run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _cgroup_mounts() -> list[tuple[str, str, str]]:
    """(fstype, mount root, mountpoint) of each cgroup and cgroup2 mount, from /proc/self/mountinfo."""
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fstype = right.split(" ", 1)[0]
            if fstype in ("cgroup", "cgroup2"):
                fields = left.split(" ")
                mounts.append((fstype, fields[3], fields[4]))
    return mounts


def _pure_v2() -> bool:
    return {fstype for fstype, _, _ in _cgroup_mounts()} == {"cgroup2"}


@pytest.hookimpl(tryfirst=True)  # before -m selects on the marker added here
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = None
    if not os.environ.get("V2VM") and not _pure_v2():
        skip = pytest.mark.skip(reason="needs a pure cgroup v2 kernel: run tests/v2 with .ci/v2vm/run.sh")
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.v2)
            if skip:
                item.add_marker(skip)


@pytest.fixture
def cgroup_mounts() -> list[tuple[str, str, str]]:
    """(fstype, mount root, mountpoint) of each cgroup and cgroup2 mount."""
    return _cgroup_mounts()


@pytest.fixture
def cgroup2_root(cgroup_mounts: list[tuple[str, str, str]]) -> Path:
    """Where the root of the cgroup2 hierarchy is mounted (/sys/fs/cgroup in the guest)."""
    roots = [Path(point) for fstype, root, point in cgroup_mounts if fstype == "cgroup2" and root == "/"]
    assert roots, "no cgroup2 mount of the hierarchy's root"
    return roots[0]


@pytest.fixture
def scratch_cgroup(cgroup2_root: Path) -> Iterator[Path]:
    """A new child of the root cgroup, "cgscope-test-<random>", removed afterwards (the test must have
    ended and reaped the processes it put there)."""
    path = cgroup2_root / f"cgscope-test-{secrets.token_hex(4)}"
    path.mkdir()
    yield path
    path.rmdir()  # runs after a failed test too
