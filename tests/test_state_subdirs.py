"""fs/statefiles.StateFiles.subdirs: a runtime's state directory (one subdirectory per container) is
listed once per refresh at most, and again only when its mtime says an entry came or went; a listing
too close to that mtime is not trusted past its refresh."""

from __future__ import annotations

import os
from pathlib import Path

from cgscope.fs.files import counting_opens
from cgscope.fs.statefiles import StateFiles


def _age(directory: Path, seconds: float = 60.0) -> None:
    """Set the directory's mtime `seconds` in the past, as a state directory untouched since then."""
    past = os.stat(directory).st_mtime_ns - int(seconds * 1e9)
    os.utime(directory, ns=(past, past))


def test_a_state_directory_is_listed_again_only_when_it_changed(tmp_path: Path) -> None:
    (tmp_path / "c1").mkdir()
    (tmp_path / "not-a-container").write_text("")
    _age(tmp_path)
    files = StateFiles()
    with counting_opens() as opens:
        for _ in range(3):
            files.new_round()
            assert files.subdirs(tmp_path) == {"c1"}
            assert files.subdirs(tmp_path) == {"c1"}
    assert opens.dirs[str(tmp_path)] == 1
    (tmp_path / "c2").mkdir()  # a new container: the directory's mtime moves
    files.new_round()
    assert files.subdirs(tmp_path) == {"c1", "c2"}


def test_a_listing_close_to_the_mtime_is_taken_again_next_refresh(tmp_path: Path) -> None:
    (tmp_path / "c1").mkdir()  # its mtime is now: an entry made in the same tick would not move it
    files = StateFiles()
    with counting_opens() as opens:
        for _ in range(2):
            files.new_round()
            assert files.subdirs(tmp_path) == {"c1"}
            assert files.subdirs(tmp_path) == {"c1"}
    assert opens.dirs[str(tmp_path)] == 2  # once each refresh


def test_a_missing_directory_has_no_subdirectories(tmp_path: Path) -> None:
    files = StateFiles()
    files.new_round()
    assert files.subdirs(tmp_path / "gone") == frozenset()
