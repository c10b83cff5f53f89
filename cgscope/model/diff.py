"""What a container changed in its rootfs, read from its container layer as `docker diff` reports it:
A added, C changed, D deleted.

The rules are docker's (moby pkg/archive, changes for overlay and aufs layers, as Docker 20.10 applies
them): an entry of the container layer is A when the layers below have nothing at its path, else C; a
whiteout is D; a directory copied up unchanged (same mode, size and mtime as below) is not a change by
itself, but every directory above an A or a D is a C; a directory deleted and made anew (an opaque
directory over one the layers below hold) is a C, and what the layers below held in it, now hidden, is
D. cgscope marks such a C *replaced* (in JSON, and with `diff --replaced`): Docker does not tell it
apart from a directory that only changed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from cgscope.errors import CgscopeError
from cgscope.fs.layertree import Entry, LowerView, TooLarge, walk_layer
from cgscope.fs.overlay import file_type
from cgscope.model.layers import OpenRootFs, union_format


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # "A", "C" or "D"
    path: str
    type: str | None  # what is there now (A, C) or what was deleted (D); None where unknown
    replaced: bool = False  # a directory deleted and recreated: nothing below shows through it


class Lower(Protocol):
    """The read-only layers merged (fs.layertree.LowerView)."""

    def lookup(self, path: str) -> os.stat_result | None: ...

    def children(self, path: str) -> list[str]: ...


def changes(entries: Iterable[Entry], lower: Lower) -> list[Change]:
    """The changes a container layer's entries (parents before children) make over `lower`, by path."""
    entries = list(entries)
    found: dict[str, Change] = {}
    changed_dirs: set[str] = set()
    in_layer: dict[str, set[str]] = {}
    for e in entries:
        parent, _, name = e.path.rpartition("/")
        in_layer.setdefault(parent or "/", set()).add(name)

    def record(change: Change) -> None:
        if change.kind in "AD":  # every directory above an addition or a deletion changed
            parent = change.path.rpartition("/")[0]
            while parent:
                if parent not in changed_dirs:
                    found[parent] = Change("C", parent, "dir")
                    changed_dirs.add(parent)
                parent = parent.rpartition("/")[0]
        found[change.path] = change
        if change.type == "dir":
            changed_dirs.add(change.path)

    for e in entries:
        below = lower.lookup(e.path)
        if e.whiteout:
            record(Change("D", e.path, _type(below)))
        elif below is None:
            record(Change("A", e.path, e.type))
        elif e.opaque:
            record(Change("C", e.path, "dir", replaced=True))
            for name in lower.children(e.path):
                if name not in in_layer.get(e.path, ()):
                    hidden = f"{e.path}/{name}"
                    record(Change("D", hidden, _type(lower.lookup(hidden))))
        elif not (e.type == "dir" and stat.S_ISDIR(below.st_mode) and _same(e, below)):
            record(Change("C", e.path, e.type))
    return [found[path] for path in sorted(found)]


def _same(e: Entry, below: os.stat_result) -> bool:
    return (e.mode, e.size, e.mtime_ns) == (below.st_mode, below.st_size, below.st_mtime_ns)


def _type(st: os.stat_result | None) -> str | None:
    return file_type(st.st_mode) if st is not None else None


def read_changes(opened: OpenRootFs) -> list[Change]:
    """Walk the container layer of a rootfs and resolve each entry in its lower layers, each directory
    the one model/layers.py opened and checked."""
    roles = [layer.role for layer in opened.rootfs.layers]
    if "container" not in roles:
        raise ValueError("a rootfs without a container layer has no changes to read")
    upper = roles.index("container")
    upper_fd = opened.directory(upper).fd
    lowers = [opened.directory(i).fd for i, role in enumerate(roles) if role in ("init", "image")]
    fmt = union_format(opened.rootfs)
    with LowerView(lowers, fmt) as lower:
        try:
            return changes(walk_layer(upper_fd, fmt), lower)
        except TooLarge as exc:
            path = opened.rootfs.layers[upper].path
            raise CgscopeError(f"container layer {path}: {exc}; cgscope compares no further") from None
