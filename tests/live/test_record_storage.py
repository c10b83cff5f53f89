"""`cgscope record` on a store that fills up or turns read-only: it says so once, keeps sampling, and
writes again once it can; SIGTERM ends it with 0. Each store is a tmpfs of the test's own."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from cgscope.errors import CgscopeError
from cgscope.history.store import read

from .conftest import require_root_and
from .containers import wait_until
from .recorder import recording, remount, small_tmpfs


@pytest.fixture(autouse=True)
def _root() -> None:
    require_root_and("mount", "umount")


def frames(store: Path) -> int:
    try:
        return sum(e.kind == "frame" for e in read(store).entries)
    except CgscopeError:  # no shard yet
        return 0


def fill(path: Path) -> None:
    """Writes `path` until the filesystem is full."""
    with path.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    with path.open("ab", buffering=0) as f:  # the last pages a 64 KiB write could not take
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass


def test_a_full_disk_is_said_once_and_recording_resumes(tmp_path: Path) -> None:
    with small_tmpfs("1m") as disk:
        store = disk / "history"
        store.mkdir()
        fill(disk / "filler")
        with recording(store, 0.2, tmp_path) as rec:
            rec.wait_said("No space left on device")
            time.sleep(1.5)  # several frames refused meanwhile
            assert rec.said().count("No space left on device") == 1, rec.said()
            os.unlink(disk / "filler")
            rec.wait_said("again")
            resumed = time.time()
            time.sleep(1.0)
            assert rec.stop() == 0
        said = rec.said()
        assert "Traceback" not in said, said
        reading = read(store)
        assert reading.warnings == []
        assert [e for e in reading.entries if e.kind == "frame" and e.at >= resumed]
        assert "entries could not be stored" in said


def test_a_read_only_store_is_said_once_and_recording_resumes(tmp_path: Path) -> None:
    with small_tmpfs("8m") as disk:
        store = disk / "history"
        with recording(store, 0.2, tmp_path) as rec:
            wait_until(lambda: frames(store) >= 2 or None, 30, "two frames stored")
            before = time.time()
            remount(disk, "ro")
            try:
                rec.wait_said("Read-only file system")
                time.sleep(1.0)
                assert rec.said().count("Read-only file system") == 1, rec.said()
            finally:
                remount(disk, "rw")
            rec.wait_said("again")
            resumed = time.time()
            time.sleep(1.0)
            assert rec.stop() == 0
        said = rec.said()
        assert "Traceback" not in said, said
        reading = read(store)
        assert reading.warnings == []
        stored = [e.at for e in reading.entries if e.kind == "frame"]
        assert stored[0] < before and stored[-1] >= resumed


def test_a_second_recorder_on_one_store_refuses_naming_the_first(tmp_path: Path) -> None:
    store = tmp_path / "history"
    with recording(store, 0.5, tmp_path) as first:
        first.wait_said("recording every")
        with recording(store, 0.5, tmp_path) as second:
            assert second.proc.wait(30) == 1
            said = second.said().strip()
        assert said == (
            f"cgscope: {store} is being recorded by pid {first.proc.pid}: one recorder per store "
            "(stop it, or give another --dir)"
        )
        assert first.stop() == 0
