"""Reading cgroup directories: membership (cgroup.procs) and walking a hierarchy."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs.errors import reading


def read_procs(directory: Path) -> list[int]:
    """The pids in this cgroup (not its descendants): cgroup.procs, one per line, unsorted."""
    path = directory / "cgroup.procs"
    with reading(path):
        return [int(x) for x in path.read_bytes().split()]


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
