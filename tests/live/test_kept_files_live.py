"""fs/files.KeptFiles on this kernel's cgroupfs: a cgroup file kept open and read again from offset 0
shows it as it is now; once its cgroup is removed the descriptor answers ENODEV, and the path opened
again tells a cgroup gone (ProcessGone) from one made again under the same path (its own figures)."""

from __future__ import annotations

import os
import subprocess
from contextlib import suppress
from pathlib import Path

import pytest

from cgscope.errors import ProcessGone
from cgscope.fs.files import KeptFiles, keeping, read_text

from .conftest import require_root_and
from .containers import _rmdir_cgroup, cgroup_hierarchies, kill_and_reap, unique_name, wait_until


def _descriptors_of(path: str) -> int:
    """How many of this process's descriptors are open on `path`."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}") == path
    return count


def test_a_kept_cgroup_file_reads_afresh_and_tells_a_removed_cgroup() -> None:
    require_root_and("sleep")
    unified = next((h.mountpoint for h in cgroup_hierarchies() if h.version == 2), None)
    if unified is None:
        pytest.skip("no cgroup2 hierarchy mounted")
    directory = unified / unique_name()
    events = f"{directory}/cgroup.events"  # "populated 0|1" and "frozen 0": core, in every cgroup2 cgroup
    files = KeptFiles()

    def read() -> str:
        with keeping(files):
            return read_text(events, whole=True)

    directory.mkdir()
    sleeper: subprocess.Popen[bytes] | None = None
    try:
        assert "populated 0\n" in read()
        sleeper = subprocess.Popen(["sleep", "1000"])
        (directory / "cgroup.procs").write_text(f"{sleeper.pid}\n")
        assert "populated 1\n" in read()  # the descriptor kept since the first read, printed afresh
        assert len(files) == 1 and _descriptors_of(events) == 1
        kill_and_reap(sleeper)
        wait_until(lambda: "populated 0\n" in read(), 5.0, "the cgroup to empty")
        _rmdir_cgroup(directory, 5.0)
        with pytest.raises(ProcessGone):
            read()
        assert len(files) == 0 and _descriptors_of(events) == 0
        directory.mkdir()
        assert "populated 0\n" in read()
        files.round()  # a round without reading it closes it
        assert len(files) == 0 and _descriptors_of(events) == 0
    finally:
        if sleeper is not None:
            kill_and_reap(sleeper)
        files.close()
        if Path(directory).exists():
            _rmdir_cgroup(directory, 5.0)
