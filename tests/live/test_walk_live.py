"""A walk of a real hierarchy lists only the cgroups that have children: kernfs counts a directory's
links as its subdirectories + 2, and a leaf's count says it has none (fs/cgroupfs.walk)."""

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from cgscope.fs import cgroupfs
from cgscope.fs.files import counting_opens
from cgscope.fs.hostroot import HostRoot

from .conftest import require_root_and


@pytest.fixture
def top() -> Iterator[Path]:
    """A cgroup of the test's own in the primary hierarchy, with what the test makes in it removed after."""
    require_root_and()
    primary = HostRoot.live().primary
    if primary is None:
        pytest.skip("no primary cgroup hierarchy")
    top = primary.mountpoint / f"cgscope-test-walk-{secrets.token_hex(4)}"
    top.mkdir()
    try:
        yield top
    finally:
        for directory, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
            os.rmdir(directory)


def test_only_cgroups_with_children_are_listed_and_a_new_child_is_found(top: Path) -> None:
    for name in ("a/x", "a/y", "b"):
        (top / name).mkdir(parents=True)
    with counting_opens() as opens:
        walked = list(cgroupfs.walk(top))
    assert walked == [top, top / "a", top / "a/x", top / "a/y", top / "b"]
    assert set(opens.dirs) == {str(top), str(top / "a")}
    (top / "b/z").mkdir()  # a leaf no more: its link count says so at once
    assert list(cgroupfs.walk(top)) == [top, top / "a", top / "a/x", top / "a/y", top / "b", top / "b/z"]
    (top / "b/z").rmdir()
    assert list(cgroupfs.walk(top))[-1] == top / "b"
