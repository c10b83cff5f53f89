"""A zombie (or an exiting process) has dropped its mount namespace: the kernel answers EINVAL for its
/proc/PID/mountinfo (fs/proc_namespace.c, mounts_open_common), and cgscope says it is gone."""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cgscope.cli import main

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


@pytest.mark.parametrize("command", ["inspect", "diff"])
def test_inspecting_a_zombie_says_it_is_gone(
    zombie: int, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(OSError) as info:
        Path(f"/proc/{zombie}/mountinfo").read_text()
    assert info.value.errno == errno.EINVAL  # the kernel's answer, which cgscope reads as gone
    assert main([command, str(zombie)], out=io.StringIO()) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        f"cgscope: /proc/{zombie}/mountinfo: gone: the process is exiting or a zombie, and has no mounts"
    )
