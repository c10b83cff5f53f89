"""Files that runtimes and users write — runtime state, daemon configuration, containers/storage's lists —
read as data, never as a way to stall or flood cgscope.

Some of them live where an unprivileged user decides what is there: a rootless Podman's storage under
the user's home (its storage.conf, containers.json). A FIFO planted under such a name would block root's
read(2) forever, and a link to /dev/zero would never end. So a file is opened without blocking
(O_NONBLOCK: a FIFO opens at once, a device does not wait), read only when it is a regular file, and
only up to LIMIT bytes; anything else reads as absent, as an unreadable file does.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any, cast

from cgscope.fs.files import decode, list_dir, open_fd

LIMIT = 64 << 20  # bytes: containers.json of a thousand containers is a few MiB
RACY_NS = 2_000_000_000  # a directory's mtime this close to now may not show the latest entry yet


def read_regular(path: Path, limit: int = LIMIT) -> bytes | None:
    """The bytes of the regular file at `path`; None where it is missing, unreadable, not a regular
    file, or larger than `limit`."""
    try:
        fd = open_fd(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        chunks, left = [], limit + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return data if len(data) <= limit else None  # grew while it was read


def load_json(path: Path) -> Any:
    """The JSON document in the file; None where it is not readable as above or is not JSON."""
    data = read_regular(path)
    try:
        return json.loads(data) if data is not None else None
    except ValueError:
        return None


def load_toml(path: Path) -> Any:
    """The TOML document in the file; None where it is not readable as above or is not TOML."""
    import tomllib  # here: only a host with containerd's config pays its import

    data = read_regular(path)
    try:
        return tomllib.loads(decode(data)) if data is not None else None
    except ValueError:
        return None


class StateFiles:
    """State files kept parsed across refreshes: a file is read again only when its inode, size or
    mtime changed (runtimes rewrite their state in place or by rename), else it costs one stat. Call
    new_round() once a refresh: what was not asked for since the last one is dropped."""

    def __init__(self) -> None:
        self._kept: dict[tuple[Path, str], tuple[tuple[int, int, int], Any]] = {}
        self._asked: set[tuple[Path, str]] = set()
        self._listed: dict[Path, frozenset[str]] = {}  # subdirs() of this round

    def new_round(self) -> None:
        for key in self._kept.keys() - self._asked:
            del self._kept[key]
        self._asked.clear()
        self._listed.clear()

    def subdirs(self, directory: Path) -> frozenset[str]:
        """The names of the directories in `directory` (none where it is gone or unreadable), listed
        again only when its inode or mtime changed: a runtime makes and removes one per container, which
        sets its parent's mtime. A listing taken within RACY_NS of that mtime is not kept (an entry made
        in the same clock tick would leave it unchanged)."""
        if directory in self._listed:
            return self._listed[directory]
        key = (directory, "subdirs")
        self._asked.add(key)
        try:
            st = os.stat(directory)
        except OSError:
            self._kept.pop(key, None)
            return frozenset()
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        kept = self._kept.get(key)
        if kept is not None and kept[0] == stamp:
            return cast(frozenset[str], kept[1])
        try:
            names = frozenset(e.name for e in list_dir(directory) if e.is_dir(follow_symlinks=False))
        except OSError:
            return frozenset()
        if time.time_ns() - st.st_mtime_ns > RACY_NS:
            self._kept[key] = (stamp, names)
        self._listed[directory] = names
        return names

    def json(self, path: Path) -> Any:
        return self._load(path, "json")

    def toml(self, path: Path) -> Any:
        return self._load(path, "toml")

    def _load(self, path: Path, kind: str) -> Any:
        key = (path, kind)
        self._asked.add(key)
        try:
            st = os.stat(path)
        except OSError:
            self._kept.pop(key, None)
            return None
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        kept = self._kept.get(key)
        if kept is None or kept[0] != stamp:
            kept = self._kept[key] = (stamp, load_json(path) if kind == "json" else load_toml(path))
        return kept[1]
