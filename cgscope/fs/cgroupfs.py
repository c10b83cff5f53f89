"""Reading cgroup directories: membership (cgroup.procs, cgroup.threads) and walking a hierarchy."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs.files import read_text
from cgscope.fs.parse import integer


@dataclass(frozen=True, slots=True)
class Members:
    """What is directly in one cgroup."""

    procs: tuple[int, ...]  # its processes (cgroup.procs); none in a threaded cgroup
    threads: tuple[int, ...] | None  # a threaded cgroup's threads (cgroup.threads); None in any other

    @property
    def threaded(self) -> bool:
        return self.threads is not None


def _ids(path: Path) -> list[int]:
    """cgroup.procs or cgroup.threads: one id per line, unsorted."""
    return [integer(line, path) for line in read_text(path).splitlines()]


def read_members(directory: Path) -> Members:
    """The processes of a cgroup (not its descendants), or the threads of a threaded one.

    A v2 cgroup made threaded (`echo threaded > cgroup.type`, cgroup-v2.rst "Threads") refuses reads of
    its cgroup.procs with EOPNOTSUPP: its processes all belong to its threaded domain, whose cgroup.procs
    lists them, and only their threads are spread over the threaded subtree (cgroup.threads).
    """
    try:
        return Members(tuple(_ids(directory / "cgroup.procs")), None)
    except OSError as exc:
        if exc.errno != errno.EOPNOTSUPP:
            raise
    return Members((), tuple(_ids(directory / "cgroup.threads")))


def read_procs(directory: Path) -> list[int]:
    """The pids in this cgroup (not its descendants), unsorted; none in a threaded cgroup."""
    return list(read_members(directory).procs)


def walk(top: Path) -> Iterator[Path]:
    """`top` and every cgroup directory below it, parents before children.

    Cgroups removed during the walk are skipped; unreadable ones are not descended into.
    """
    stack = [top]
    while stack:
        directory = stack.pop()
        yield directory
        try:
            with os.scandir(directory) as it:
                children = [Path(e.path) for e in it if e.is_dir(follow_symlinks=False)]
        except OSError:
            continue
        stack.extend(sorted(children, reverse=True))


def subtree_procs(top: Path, keep: Callable[[Path], bool] = lambda _d: True) -> set[int]:
    """The pids of `top` and its descendants (those `keep` accepts); cgroups removed meanwhile and
    unreadable ones are skipped."""
    pids: set[int] = set()
    for directory in walk(top):
        if keep(directory):
            with suppress(ProcessGone, AccessDenied):
                pids.update(read_procs(directory))
    return pids
