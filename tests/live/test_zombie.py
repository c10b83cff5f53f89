"""A zombie (or an exiting process) has dropped its mount namespace: the kernel answers EINVAL for its
/proc/PID/mountinfo (fs/proc_namespace.c, mounts_open_common), and cgscope says it is gone."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cgscope.errors import ProcessGone
from cgscope.fs.mounttable import read_mount_table

from .conftest import require_root_and
from .containers import wait_until


@pytest.fixture
def zombie() -> Iterator[int]:
    """A child of this test process that exited and is not reaped yet."""
    require_root_and()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        stat = Path(f"/proc/{pid}/stat")
        wait_until(lambda: stat.read_text().rsplit(") ", 1)[1][0] == "Z", what="a zombie")
        yield pid
    finally:
        os.waitpid(pid, 0)


def test_the_mount_table_of_a_zombie_is_gone(zombie: int) -> None:
    """What inspect and diff read of a process that exits after it was resolved (the resolver refuses one
    that is a zombie already): its mount table, gone with a line that says why."""
    with pytest.raises(OSError) as info:
        Path(f"/proc/{zombie}/mountinfo").read_text()
    assert info.value.errno == errno.EINVAL  # the kernel's answer, which cgscope reads as gone
    with pytest.raises(ProcessGone) as gone:
        read_mount_table(Path("/proc"), zombie)
    assert str(gone.value) == (
        f"/proc/{zombie}/mountinfo: gone: the process is exiting or a zombie, and has no mounts"
    )
