"""fs/files.KeptFiles on regular files (tests/live/test_kept_files_live.py holds it to cgroupfs): a kept
file is read again from offset 0, kept while read within keep_seconds, closed after; `limit` bounds
how many are kept, and the reads are counted as counting_opens() counts opens."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from cgscope.fs.cgroup_io import IoDevice, read_io
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


def test_io_counters_are_read_through_the_kept_files(tmp_path: Path) -> None:
    # A refresh reads every container's I/O files as it reads its other counters: kept open, one pread
    # each (they were opened and closed every refresh, two syscalls more per file).
    v1 = tmp_path / "blkio"
    v1.mkdir()
    (v1 / "blkio.throttle.io_service_bytes_recursive").write_text("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n")
    (v1 / "blkio.throttle.io_serviced_recursive").write_text("8:0 Read 1\n8:0 Write 0\nTotal 1\n")
    v2 = tmp_path / "unified"
    v2.mkdir()
    (v2 / "io.stat").write_text("8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n")
    files = KeptFiles()
    with keeping(files):
        assert read_io(v1, 1) == {(8, 0): IoDevice(read_bytes=4096, read_ops=1)}
        assert read_io(v2, 2) == {(8, 0): IoDevice(read_bytes=4096, read_ops=1)}
    assert len(files) == 3
    with (v2 / "io.stat").open("r+") as f:
        f.write("8:0 rbytes=8192")
    with keeping(files), counting_opens() as opens:
        assert read_io(v2, 2) == {(8, 0): IoDevice(read_bytes=8192, read_ops=1)}
    assert opens.files[f"{v2}/io.stat"] == 1
    assert len(files) == 1  # the blkio files, not read in that round, closed at its end
