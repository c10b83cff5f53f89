"""Walking union filesystem layers: the entries of a container layer, the merged view of the layers below
it, and a layer's size. Every walk goes by directory descriptor (fs/dirfd.py), without recursion, and
stops with TooLarge at a bound:

- MAX_DEPTH directories deep. A walk holds one descriptor per level, so the bound keeps it far below the
  usual limit of 1,024 open files; real images stay below 30 levels. The kernel itself limits one path to
  PATH_MAX (4,096 bytes), at most 2,048 levels, but a user can make a tree deeper than any one path.
- MAX_ENTRIES entries in one layer. A large image layer holds about 10^5 entries (CUDA, PyTorch); a whole
  distribution host about 5 x 10^5 (this project's test VM: 558,605 under /, measured); a layer past 10^6
  is one made to be large, and walking it would take cgscope about a minute.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cgscope.errors import AccessDenied, CgscopeError
from cgscope.fs.dirfd import DIR_FLAGS, listing, lstat_at, open_dir_at, opened
from cgscope.fs.overlay import UnionFormat, file_type

MAX_DEPTH = 256
MAX_ENTRIES = 1_000_000
_FD_BUDGET = 256  # directory descriptors the merged view of the lower layers keeps open, at most
# A directory that vanished, or was replaced by a file or a symlink, between being listed and opened.
_CHANGED = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP})

Directory = int | os.PathLike[str] | str  # an open directory, or a path to open once (fs/dirfd.opened)


class TooLarge(CgscopeError):
    """A layer deeper or larger than cgscope walks."""


def _clip(path: str, width: int = 60) -> str:
    return path if len(path) <= width else path[: width - 1] + "…"


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a layer, at its path in the merged tree ("/etc/hosts")."""

    path: str
    type: str  # file, dir, symlink, char, block, fifo, socket
    mode: int
    size: int
    mtime_ns: int
    whiteout: bool = False  # deletes `path` from the layers below
    opaque: bool = False  # a directory that hides what the layers below hold under it


@dataclass
class _Level:
    """A directory being walked: its path in the layer, its descriptor, its entries and those left."""

    path: str
    fd: int
    listed: list[os.DirEntry[str]]
    xwhiteouts: bool = False
    entries: Iterator[os.DirEntry[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.entries = iter(self.listed)


class _Walk:
    """Depth-first, one open descriptor per level; counts entries against the bounds."""

    def __init__(self, top_fd: int, max_entries: int, max_depth: int) -> None:
        self.top_fd = top_fd
        self.levels = [_Level("", top_fd, listing(top_fd))]
        self.max_entries, self.max_depth = max_entries, max_depth
        self.count = 0

    def next_entry(self) -> tuple[_Level, os.DirEntry[str]] | None:
        while self.levels:
            level = self.levels[-1]
            e = next(level.entries, None)
            if e is not None:
                self.count += 1
                if self.count > self.max_entries:
                    raise TooLarge(f"more than {self.max_entries:,} entries")
                return level, e
            self._leave()
        return None

    def enter(self, parent: _Level, name: str, path: str) -> _Level | None:
        """Open the directory `name` of `parent` and list it, as the next level; None where it changed
        meanwhile."""
        if len(self.levels) > self.max_depth:
            raise TooLarge(f"deeper than {self.max_depth} directories, at {_clip(path)}")
        try:
            fd = open_dir_at(parent.fd, name)
        except PermissionError:
            raise AccessDenied(f"{path}: permission denied") from None
        except OSError as exc:
            if exc.errno in _CHANGED:
                return None
            raise
        try:
            level = _Level(path, fd, listing(fd))
        except BaseException:
            os.close(fd)
            raise
        self.levels.append(level)
        return level

    def _leave(self) -> None:
        level = self.levels.pop()
        if level.fd != self.top_fd:
            os.close(level.fd)

    def close(self) -> None:
        while self.levels:
            self._leave()


def walk_layer(
    top: Directory, fmt: UnionFormat, *, max_entries: int = MAX_ENTRIES, max_depth: int = MAX_DEPTH
) -> Iterator[Entry]:
    """Every entry of the layer at `top`, parents before children, in name order. What vanishes while it
    is walked is left out."""
    with opened(top) as top_fd:
        walk = _Walk(top_fd, max_entries, max_depth)
        top_level = walk.levels[0]
        top_level.xwhiteouts = fmt.opacity(top_fd, [e.name for e in top_level.listed])[1]
        try:
            while (found := walk.next_entry()) is not None:
                level, e = found
                if fmt.hidden(e.name):
                    continue
                entry = _entry(walk, level, e, fmt)
                if entry is not None:
                    yield entry
        finally:
            walk.close()


def _entry(walk: _Walk, level: _Level, e: os.DirEntry[str], fmt: UnionFormat) -> Entry | None:
    try:
        st = e.stat(follow_symlinks=False)
    except FileNotFoundError:
        return None
    deleted = fmt.deleted_name(e.name)
    path = f"{level.path}/{deleted if deleted is not None else e.name}"
    if deleted is not None or fmt.is_whiteout(level.fd, e.name, st, level.xwhiteouts):
        return Entry(path, "whiteout", st.st_mode, 0, st.st_mtime_ns, whiteout=True)
    if not stat.S_ISDIR(st.st_mode):
        return Entry(path, file_type(st.st_mode), st.st_mode, st.st_size, st.st_mtime_ns)
    child = walk.enter(level, e.name, path)
    if child is None:
        return None
    st = os.fstat(child.fd)  # what was opened, should the name have been replaced since it was listed
    opaque, child.xwhiteouts = fmt.opacity(child.fd, [c.name for c in child.listed])
    return Entry(path, "dir", st.st_mode, st.st_size, st.st_mtime_ns, opaque=opaque)


# -- the layers below, merged ----------------------------------------------------------------------


# A layer's directory at some path (open), and whether it may hold xattr whiteouts.
Contributor = tuple[int, bool]


class LowerView:
    """The merged view of read-only layers (top first), as the union filesystem resolves a path in them.
    It keeps the directories it resolved open, up to a budget of descriptors; close() closes them."""

    def __init__(self, layers: Sequence[Directory], fmt: UnionFormat) -> None:
        self.fmt = fmt
        self._own: list[int] = []
        roots: list[Contributor] = []
        for layer in layers:
            if isinstance(layer, int):
                roots.append((layer, False))
            else:
                fd = os.open(layer, DIR_FLAGS)
                self._own.append(fd)
                roots.append((fd, False))
        self._roots = roots
        self._dirs: OrderedDict[str, list[Contributor]] = OrderedDict()
        self._open = 0

    def __enter__(self) -> LowerView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for found in self._dirs.values():
            for fd, _ in found:
                os.close(fd)
        self._dirs.clear()
        for fd in self._own:
            os.close(fd)
        self._own.clear()

    def _contributors(self, rel: str) -> list[Contributor]:
        """The layers whose directory `rel` ("a/b") shows through, top first. A whiteout, a non-directory
        or an opaque directory in a layer hides every layer below it."""
        if not rel:
            return self._roots
        found = self._dirs.get(rel)
        if found is not None:
            self._dirs.move_to_end(rel)
            return found
        parent, _, name = rel.rpartition("/")
        found = []
        for dir_fd, xw in self._contributors(parent):
            st = self._lstat(dir_fd, name, xw)
            if st is None:
                continue
            if st is False or not stat.S_ISDIR(st.st_mode):
                break
            try:
                fd = open_dir_at(dir_fd, name)
            except OSError as exc:
                if exc.errno in _CHANGED:
                    continue
                raise
            opaque, xwhiteouts = self.fmt.opacity(fd, os.listdir(fd))
            found.append((fd, xwhiteouts))
            if opaque:
                break
        self._remember(rel, found)
        return found

    def _remember(self, rel: str, found: list[Contributor]) -> None:
        """Cache `found`, closing the least recently used directories beyond the budget (never the
        parent just used: it is the most recent)."""
        self._dirs[rel] = found
        self._open += len(found)
        while self._open > _FD_BUDGET and len(self._dirs) > 2:
            _, old = self._dirs.popitem(last=False)
            for fd, _ in old:
                os.close(fd)
            self._open -= len(old)

    def _lstat(self, dir_fd: int, name: str, xwhiteouts: bool) -> os.stat_result | Literal[False] | None:
        """The entry `name` in a layer's directory: its stat, False for a whiteout, None absent."""
        if self.fmt.whiteout_named(dir_fd, name):
            return False
        st = lstat_at(dir_fd, name)
        if st is None:
            return None
        return False if self.fmt.is_whiteout(dir_fd, name, st, xwhiteouts) else st

    def lookup(self, path: str) -> os.stat_result | None:
        """The stat of what the layers show at `path` ("/etc/hosts"), None where nothing is there."""
        parent, _, name = path.strip("/").rpartition("/")
        for dir_fd, xw in self._contributors(parent):
            st = self._lstat(dir_fd, name, xw)
            if st is not None:
                return st or None
        return None

    def children(self, path: str) -> list[str]:
        """The names the layers show in directory `path`, sorted."""
        seen: set[str] = set()
        visible = []
        for dir_fd, xw in self._contributors(path.strip("/")):
            for name in os.listdir(dir_fd):
                if self.fmt.hidden(name):
                    continue
                deleted = self.fmt.deleted_name(name)
                if deleted is not None:
                    seen.add(deleted)
                    continue
                if name in seen:
                    continue
                seen.add(name)
                st = self._lstat(dir_fd, name, xw)
                if isinstance(st, os.stat_result):
                    visible.append(name)
        return sorted(visible)


# -- sizes ---------------------------------------------------------------------------------------


def tree_size(
    top: Directory, *, max_entries: int = MAX_ENTRIES, max_depth: int = MAX_DEPTH
) -> tuple[int, int]:
    """(bytes, files) under `top`, as `docker ps --size` counts a layer: the apparent size of everything
    but directories, hard links once. What vanishes meanwhile is skipped."""
    total = files = 0
    seen: set[tuple[int, int]] = set()
    with opened(top) as top_fd:
        walk = _Walk(top_fd, max_entries, max_depth)
        try:
            while (found := walk.next_entry()) is not None:
                level, e = found
                try:
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    walk.enter(level, e.name, f"{level.path}/{e.name}")
                    continue
                if st.st_nlink > 1:
                    if (st.st_dev, st.st_ino) in seen:
                        continue
                    seen.add((st.st_dev, st.st_ino))
                total += st.st_size
                files += 1
        finally:
            walk.close()
    return total, files
