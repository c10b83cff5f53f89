"""Reading cgroup directories: membership (cgroup.procs, cgroup.threads) and walking a hierarchy, bounded."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import AccessDenied, CgscopeError, ProcessGone
from cgscope.fs.files import child, list_dir, read_text
from cgscope.fs.parse import integer

# A walk goes at most MAX_DEPTH levels below its top, and only where a path can still name a file in the
# directory (PATH_MAX, 4,096 bytes with the NUL, less "/cgroup.threads"). systemd's deepest cgroups are
# about 6 levels down (a user's app scope; a pod's container), nested containers add a few each; but
# cgroup.max.depth is "max" by default (cgroup-v2.rst), and a user given a delegated subtree can make
# one thousands of levels deep, past any path (mkdir relative to a directory already open).
MAX_DEPTH = 64
_PATH_ROOM = 4096 - len("/cgroup.threads") - 1


@dataclass(frozen=True, slots=True)
class Members:
    """What is directly in one cgroup."""

    procs: tuple[int, ...]  # its processes (cgroup.procs); none in a threaded cgroup
    threads: tuple[int, ...] | None  # a threaded cgroup's threads (cgroup.threads); None in any other

    @property
    def threaded(self) -> bool:
        return self.threads is not None


def _ids(path: str) -> list[int]:
    """cgroup.procs or cgroup.threads: one id per line, unsorted."""
    return [integer(line, path) for line in read_text(path).splitlines()]


def read_members(directory: Path) -> Members:
    """The processes of a cgroup (not its descendants), or the threads of a threaded one.

    A v2 cgroup made threaded (`echo threaded > cgroup.type`, cgroup-v2.rst "Threads") refuses reads of
    its cgroup.procs with EOPNOTSUPP: its processes all belong to its threaded domain, whose cgroup.procs
    lists them, and only their threads are spread over the threaded subtree (cgroup.threads).
    """
    try:
        return Members(tuple(_ids(child(directory, "cgroup.procs"))), None)
    except OSError as exc:
        if exc.errno != errno.EOPNOTSUPP:
            raise
    return Members((), tuple(_ids(child(directory, "cgroup.threads"))))


def read_procs(directory: Path) -> list[int]:
    """The pids in this cgroup (not its descendants), unsorted; none in a threaded cgroup."""
    return list(read_members(directory).procs)


def walk(top: Path, cut: list[Path] | None = None) -> Iterator[Path]:
    """`top` and every cgroup directory below it, parents before children, at most MAX_DEPTH levels
    below `top` and only where a path can name a file in it (PATH_MAX); a directory whose cgroups go
    beyond is appended to `cut`.

    Cgroups removed during the walk are skipped; unreadable ones are not descended into.
    """
    stack = [(top, 0, False)]
    while stack:
        directory, depth, leaf = stack.pop()
        yield directory
        if leaf:
            continue
        try:
            children = [e for e in list_dir(directory) if e.is_dir(follow_symlinks=False)]
        except OSError:
            continue
        within = [c for c in children if depth < MAX_DEPTH and len(os.fsencode(c.path)) < _PATH_ROOM]
        if len(within) < len(children) and cut is not None:
            cut.append(directory)
        # siblings in the order of their Paths (that of their names), sorted as strings: cheaper
        within.sort(key=lambda e: e.path, reverse=True)
        stack.extend((Path(c.path), depth + 1, _no_subdirectories(c)) for c in within)


def _no_subdirectories(entry: os.DirEntry[str]) -> bool:
    """Whether a directory has no subdirectories, by its link count: kernfs counts a directory's links
    as its subdirectories + 2 (kernfs_refresh_inode, fs/kernfs/inode.c), as ext4 and tmpfs do; a
    filesystem that does not count them says 1 (btrfs, a merged overlayfs directory) and is listed.
    A stat costs less than listing even a cgroup with no controllers' files, and most are leaves."""
    try:
        return entry.stat(follow_symlinks=False).st_nlink == 2
    except OSError:  # removed meanwhile: listing it says so
        return False


class Walked:
    """A hierarchy as walk() yielded it: parents before children and siblings sorted, which is the
    paths' own order, so a subtree is the run of paths from its top on."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(paths)
        self._at: dict[Path, int] | None = None

    def subtree(self, top: Path) -> Iterator[Path]:
        """`top` and its descendants; a walk of its own where `top` was not there when walked."""
        if self._at is None:
            self._at = {p: i for i, p in enumerate(self.paths)}
        start = self._at.get(top)
        if start is None:
            yield from walk(top)
            return
        n, parts = len(top.parts), top.parts
        for i in range(start, len(self.paths)):
            if self.paths[i].parts[:n] != parts:
                return
            yield self.paths[i]


def subtree_procs(
    top: Path, keep: Callable[[Path], bool] = lambda _d: True, walked: Walked | None = None
) -> set[int]:
    """The pids of `top` and its descendants (those `keep` accepts); cgroups removed meanwhile and
    unreadable ones are skipped. `walked`: the hierarchy as walk() yielded it this refresh, taken
    instead of a walk of the subtree."""
    pids: set[int] = set()
    for directory in walk(top) if walked is None else walked.subtree(top):
        if keep(directory):
            with suppress(ProcessGone, AccessDenied):
                pids.update(read_procs(directory))
    return pids


class TooDeep(CgscopeError):
    """A cgroup subtree deeper than cgscope walks: what its deepest cgroups hold cannot be told."""


def all_subtree_procs(top: Path, shown: Callable[[Path], str]) -> set[int]:
    """The pids of `top` and every cgroup below it; TooDeep, in one line naming the cgroup (`shown`),
    where some lie beyond the walk's bounds: for a change, which must know every process it reaches."""
    cut: list[Path] = []
    pids: set[int] = set()
    for directory in walk(top, cut):
        with suppress(ProcessGone, AccessDenied):
            pids.update(read_procs(directory))
    if cut:
        raise TooDeep(
            f"{shown(top)} has cgroups more than {MAX_DEPTH} levels below it (or past PATH_MAX): cgscope "
            "cannot tell which processes a change there would reach; nothing changed"
        )
    return pids
