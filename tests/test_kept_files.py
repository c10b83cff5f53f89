"""fs/files.KeptFiles on regular files (tests/live/test_kept_files_live.py holds it to cgroupfs): a kept
file is read again from offset 0, kept while read within keep_seconds, closed after; `limit` bounds
how many are kept, and the reads are counted as counting_opens() counts opens."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from cgscope.fs.files import KeptFiles, counting_opens, keeping, read_text


def _read(files: KeptFiles, path: Path) -> str:
    with keeping(files):
        return read_text(str(path), whole=True)


def test_a_kept_file_is_read_afresh_and_closed_once_unread(tmp_path: Path) -> None:
    path = tmp_path / "memory.current"
    path.write_text("1\n")
    files = KeptFiles()
    assert _read(files, path) == "1\n" and len(files) == 1
    with path.open("r+") as f:  # rewritten in place, as the kernel prints a seq_file afresh
        f.write("2\n")
    with counting_opens() as opens:
        assert _read(files, path) == "2\n"
    assert opens.files[str(path)] == 1 and len(files) == 1
    files.round()  # a round without reading it
    assert len(files) == 0


def test_files_read_within_keep_seconds_stay_open_and_limit_bounds_them(tmp_path: Path) -> None:
    paths = [tmp_path / f"f{i}" for i in range(3)]
    for p in paths:
        p.write_text("x\n")
    files = KeptFiles(limit=2, keep_seconds=3600.0)
    for p in paths:
        assert _read(files, p) == "x\n"
    assert len(files) == 2  # the third opened and closed for its read
    for _ in range(3):
        files.round()
    assert len(files) == 2
    files.close()
    assert len(files) == 0


def test_files_kept_by_an_owner_dropped_are_closed(tmp_path: Path) -> None:
    path = tmp_path / "cpu.stat"
    path.write_text("usage_usec 1\n")
    files = KeptFiles()
    _read(files, path)
    assert sum(_names(fd, path) for fd in os.listdir("/proc/self/fd")) == 1
    del files  # a Sampler dropped with what it kept open
    gc.collect()
    assert not any(_names(fd, path) for fd in os.listdir("/proc/self/fd"))


def _names(fd: str, path: Path) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == str(path)
    except OSError:  # the descriptor os.listdir itself had open
        return False
