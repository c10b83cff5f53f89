"""Union filesystems on disk: overlayfs and AuFS layers, their whiteouts, opaque directories and sizes.

Overlayfs (Documentation/filesystems/overlayfs.rst): a deleted name is a *whiteout*, a character device
0/0 (or, since Linux 6.7, a zero-size file with the "overlay.whiteout" xattr in a directory whose
"overlay.opaque" xattr is "x"); a directory whose "overlay.opaque" xattr is "y" hides what the layers
below hold at that path. The xattrs are "trusted.overlay.*", or "user.overlay.*" on a mount with
`userxattr` (rootless containers). Whiteouts and opaque directories count in lower layers too.

AuFS: a deleted name is a file ".wh.<name>"; a directory holding ".wh..wh..opq" is opaque; other
".wh..wh.*" names (.wh..wh.aufs, .wh..wh.plnk, .wh..wh.orph) are AuFS's own bookkeeping.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cgscope.errors import ProcessGone
from cgscope.fs.errors import reading
from cgscope.fs.mounts import unescape

_OCTAL = re.compile(r"\\[0-7]{3}")
_AUFS_WH = ".wh."
_AUFS_META = ".wh..wh."
_AUFS_OPAQUE = ".wh..wh..opq"

TYPES = {
    stat.S_IFREG: "file",
    stat.S_IFDIR: "dir",
    stat.S_IFLNK: "symlink",
    stat.S_IFCHR: "char",
    stat.S_IFBLK: "block",
    stat.S_IFIFO: "fifo",
    stat.S_IFSOCK: "socket",
}


def file_type(mode: int) -> str:
    return TYPES.get(stat.S_IFMT(mode), "unknown")


# -- mount options ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverlayDirs:
    """The directories of an overlay mount, as the mounter named them (host paths)."""

    lower: tuple[str, ...]  # top first
    data: tuple[str, ...]  # data-only lower layers (Linux >= 6.5), reached only through metacopy redirects
    upper: str | None  # None: a read-only overlay
    work: str | None
    userxattr: bool


def _unescape_user(value: str) -> str:
    """Mount-option syntax: a backslash makes the next character literal ("\\," "\\:" "\\\\")."""
    return re.sub(r"\\(.)", r"\1", value)


def split_lowerdir(raw: str) -> tuple[list[str], list[str]]:
    """(lower layers, data-only layers) of a lowerdir= value as mountinfo shows it (still octal-escaped).

    Layers are separated by ":" and data-only layers follow a "::". Since Linux 6.7 (and before 6.5) the
    kernel shows the string the mounter gave, where "\\:" is a colon inside a path (its backslash shown as
    \\134); 6.5 and 6.6 showed each layer with its colons octal-escaped (\\072). Both are read here: a colon
    that came from an octal escape, or follows the mounter's backslash, is part of the path.
    """
    layers: list[str] = []
    data_from: int | None = None
    current: list[str] = []
    escaped = False
    i = 0
    while i < len(raw):
        if _OCTAL.match(raw, i):
            ch, literal = chr(int(raw[i + 1 : i + 4], 8)), True
            i += 4
        else:
            ch, literal = raw[i], False
            i += 1
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ":" and not literal:
            if not current and layers:
                data_from = len(layers) if data_from is None else data_from
            else:
                layers.append("".join(current))
            current = []
        else:
            current.append(ch)
    if current:
        layers.append("".join(current))
    if data_from is None:
        return layers, []
    return layers[:data_from], layers[data_from:]


def overlay_dirs(raw_options: Sequence[str]) -> OverlayDirs:
    """The layers of an overlay mount from its super options as mountinfo lists them (split at commas,
    each still octal-escaped): "lowerdir=" or, for mounts made with the new mount API (Linux >= 6.7),
    one "lowerdir+=" / "datadir+=" per layer."""
    lower: list[str] = []
    data: list[str] = []
    upper = work = None
    userxattr = False
    for opt in raw_options:
        key, _, value = opt.partition("=")
        if key == "lowerdir":
            lower, data = split_lowerdir(value)
        elif key == "lowerdir+":
            lower.append(unescape(value))
        elif key == "datadir+":
            data.append(unescape(value))
        elif key in ("upperdir", "workdir"):
            path = _unescape_user(unescape(value))
            upper, work = (path, work) if key == "upperdir" else (upper, path)
        elif key == "userxattr":
            userxattr = True
    return OverlayDirs(tuple(lower), tuple(data), upper, work, userxattr)


def aufs_branches(sys_fs: Path, si: str) -> list[tuple[str, str]]:
    """(path, permission) of each branch of the AuFS mount with option si=`si`, top first, from
    /sys/fs/aufs/si_<si>/br<N> ("<path>=<perm>": rw, ro, rr, ro+wh, ...)."""
    directory = sys_fs / f"si_{si}"
    with reading(directory):
        names = [n for n in os.listdir(directory) if n.startswith("br") and n[2:].isdigit()]
    branches = []
    for name in sorted(names, key=lambda n: int(n[2:])):
        with reading(directory / name):
            text = (directory / name).read_text().rstrip("\n")
        path, _, perm = text.rpartition("=")
        branches.append((unescape(path), perm))
    return branches


# -- whiteouts and opaque directories ------------------------------------------------------------


class UnionFormat:
    """How one kind of union filesystem marks, inside a layer, what it deletes."""

    def hidden(self, name: str) -> bool:
        """Bookkeeping entries that are not files of the image."""
        return False

    def deleted_name(self, name: str) -> str | None:
        """The name a whiteout entry deletes, when it is one by its name alone (AuFS)."""
        return None

    def is_whiteout(self, path: Path, st: os.stat_result, xwhiteouts: bool) -> bool:
        """Whether this entry is itself a whiteout (overlayfs)."""
        return False

    def whiteout_named(self, directory: Path, name: str) -> bool:
        """Whether a separate whiteout entry deletes `name` in `directory` (AuFS)."""
        return False

    def opacity(self, directory: Path, names: Sequence[str]) -> tuple[bool, bool]:
        """(opaque, may hold xattr whiteouts) of a directory holding `names`."""
        return False, False


class Overlay(UnionFormat):
    def __init__(self, userxattr: bool = False) -> None:
        prefix = "user.overlay." if userxattr else "trusted.overlay."
        self.opaque_xattr, self.whiteout_xattr = prefix + "opaque", prefix + "whiteout"

    def is_whiteout(self, path: Path, st: os.stat_result, xwhiteouts: bool) -> bool:
        if stat.S_ISCHR(st.st_mode):
            return st.st_rdev == 0
        # The xattr form counts only where the parent directory's opaque xattr is "x".
        empty_file = stat.S_ISREG(st.st_mode) and st.st_size == 0
        return xwhiteouts and empty_file and _getxattr(path, self.whiteout_xattr) is not None

    def opacity(self, directory: Path, names: Sequence[str]) -> tuple[bool, bool]:
        value = _getxattr(directory, self.opaque_xattr)
        return value == b"y", value == b"x"


class Aufs(UnionFormat):
    def hidden(self, name: str) -> bool:
        return name.startswith(_AUFS_META)

    def deleted_name(self, name: str) -> str | None:
        if name.startswith(_AUFS_WH) and not name.startswith(_AUFS_META):
            return name[len(_AUFS_WH) :]
        return None

    def whiteout_named(self, directory: Path, name: str) -> bool:
        return os.path.lexists(directory / (_AUFS_WH + name))

    def opacity(self, directory: Path, names: Sequence[str]) -> tuple[bool, bool]:
        return _AUFS_OPAQUE in names, False


def _getxattr(path: Path, name: str) -> bytes | None:
    """An xattr's value, None where it is not set (trusted.* xattrs are invisible without CAP_SYS_ADMIN)."""
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOTSUP, errno.EPERM, errno.EACCES, errno.ENOENT):
            return None
        raise


# -- walking a layer -----------------------------------------------------------------------------


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


def _listing(directory: Path) -> list[os.DirEntry[str]]:
    with reading(directory), os.scandir(directory) as it:
        return sorted(it, key=lambda e: e.name)


def walk_layer(top: Path, fmt: UnionFormat) -> Iterator[Entry]:
    """Every entry of the layer at `top`, parents before children, in name order."""

    def visit(rel: str, entries: list[os.DirEntry[str]], xwhiteouts: bool) -> Iterator[Entry]:
        for e in entries:
            if fmt.hidden(e.name):
                continue
            st = e.stat(follow_symlinks=False)
            deleted = fmt.deleted_name(e.name)
            path = f"{rel}/{deleted if deleted is not None else e.name}"
            if deleted is not None or fmt.is_whiteout(Path(e.path), st, xwhiteouts):
                yield Entry(path, "whiteout", st.st_mode, 0, st.st_mtime_ns, whiteout=True)
            elif stat.S_ISDIR(st.st_mode):
                children = _listing(Path(e.path))
                opaque, xw = fmt.opacity(Path(e.path), [c.name for c in children])
                yield Entry(path, "dir", st.st_mode, st.st_size, st.st_mtime_ns, opaque=opaque)
                yield from visit(path, children, xw)
            else:
                yield Entry(path, file_type(st.st_mode), st.st_mode, st.st_size, st.st_mtime_ns)

    root = _listing(top)
    yield from visit("", root, fmt.opacity(top, [e.name for e in root])[1])


class LowerView:
    """The merged view of read-only layers (top first), as the union filesystem resolves a path in them."""

    def __init__(self, layers: Sequence[Path], fmt: UnionFormat) -> None:
        self.layers = list(layers)
        self.fmt = fmt
        self._dirs: dict[str, list[tuple[Path, bool]]] = {"": [(layer, False) for layer in self.layers]}

    def _contributors(self, rel: str) -> list[tuple[Path, bool]]:
        """The layers whose directory `rel` ("a/b") shows through, top first, each with whether that
        directory may hold xattr whiteouts. A whiteout, a non-directory or an opaque directory in a
        layer hides every layer below it."""
        found = self._dirs.get(rel)
        if found is not None:
            return found
        parent, _, name = rel.rpartition("/")
        found = []
        for layer, xw in self._contributors(parent):
            st = self._lstat(layer, parent, name, xw)
            if st is None:
                continue
            if st is False or not stat.S_ISDIR(st.st_mode):
                break
            opaque, xwhiteouts = self.fmt.opacity(layer / rel, _names(layer / rel))
            found.append((layer, xwhiteouts))
            if opaque:
                break
        self._dirs[rel] = found
        return found

    def _lstat(
        self, layer: Path, parent: str, name: str, xwhiteouts: bool
    ) -> os.stat_result | Literal[False] | None:
        """The entry `name` in the layer's directory `parent`: its stat, False for a whiteout, None absent."""
        directory = layer / parent
        if self.fmt.whiteout_named(directory, name):
            return False
        try:
            st = os.lstat(directory / name)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return False if self.fmt.is_whiteout(directory / name, st, xwhiteouts) else st

    def lookup(self, path: str) -> os.stat_result | None:
        """The stat of what the layers show at `path` ("/etc/hosts"), None where nothing is there."""
        parent, _, name = path.strip("/").rpartition("/")
        for layer, xw in self._contributors(parent):
            st = self._lstat(layer, parent, name, xw)
            if st is not None:
                return st or None
        return None

    def children(self, path: str) -> list[str]:
        """The names the layers show in directory `path`, sorted."""
        rel = path.strip("/")
        seen: set[str] = set()
        visible = []
        for layer, xw in self._contributors(rel):
            for name in _names(layer / rel):
                if self.fmt.hidden(name):
                    continue
                deleted = self.fmt.deleted_name(name)
                if deleted is not None:
                    seen.add(deleted)
                    continue
                if name in seen:
                    continue
                seen.add(name)
                st = self._lstat(layer, rel, name, xw)
                if isinstance(st, os.stat_result):
                    visible.append(name)
        return sorted(visible)


def _names(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


# -- sizes ---------------------------------------------------------------------------------------


def tree_size(top: Path) -> tuple[int, int]:
    """(bytes, files) under `top`, as `docker ps --size` counts a layer: the apparent size of everything
    but directories, hard links once. What vanishes meanwhile below `top` is skipped."""
    total = files = 0
    seen: set[tuple[int, int]] = set()
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            entries = _listing(directory)
        except ProcessGone:
            if directory == top:
                raise
            continue
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(Path(e.path))
                continue
            if st.st_nlink > 1:
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
            total += st.st_size
            files += 1
    return total, files
