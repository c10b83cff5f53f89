"""Union filesystems: the layers of overlayfs and AuFS mounts, and how a layer marks what it deletes.

Overlayfs (Documentation/filesystems/overlayfs.rst): a deleted name is a *whiteout*, a character device
0/0 (or, since Linux 6.7, a zero-size file with the "overlay.whiteout" xattr in a directory whose
"overlay.opaque" xattr is "x"); a directory whose "overlay.opaque" xattr is "y" hides what the layers
below hold at that path. The xattrs are "trusted.overlay.*", or "user.overlay.*" on a mount with
`userxattr` (rootless containers). Whiteouts and opaque directories count in lower layers too.

AuFS: a deleted name is a file ".wh.<name>"; a directory holding ".wh..wh..opq" is opaque; other
".wh..wh.*" names (.wh..wh.aufs, .wh..wh.plnk, .wh..wh.orph) are AuFS's own bookkeeping.

Layers are walked in fs/layertree.py, opened in fs/layerdirs.py.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import InvalidFormat
from cgscope.fs.dirfd import lstat_at, xattr, xattr_at
from cgscope.fs.files import read_text, reading
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounttable import unescape

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
        names = [
            n for n in os.listdir(directory) if n.startswith("br") and n[2:].isascii() and n[2:].isdigit()
        ]
    branches = []
    for name in sorted(names, key=lambda n: int(n[2:])):
        text = read_text(directory / name).rstrip("\n")
        path, sep, perm = text.rpartition("=")
        if not sep or not path:
            raise InvalidFormat(directory / name, text)
        branches.append((unescape(path), perm))
    return branches


def host_aufs_branches(host: HostRoot, si: str) -> list[tuple[str, str]]:
    """aufs_branches from the host's sysfs."""
    return aufs_branches(host.path("/sys/fs/aufs"), si)


# -- whiteouts and opaque directories ------------------------------------------------------------


class UnionFormat:
    """How one kind of union filesystem marks, inside a layer, what it deletes. Entries are named by an
    open directory and a name in it (fs/dirfd.py)."""

    def hidden(self, name: str) -> bool:
        """Bookkeeping entries that are not files of the image."""
        return False

    def deleted_name(self, name: str) -> str | None:
        """The name a whiteout entry deletes, when it is one by its name alone (AuFS)."""
        return None

    def is_whiteout(self, dir_fd: int, name: str, st: os.stat_result, xwhiteouts: bool) -> bool:
        """Whether the entry `name` of the directory is itself a whiteout (overlayfs)."""
        return False

    def whiteout_named(self, dir_fd: int, name: str) -> bool:
        """Whether a separate whiteout entry deletes `name` in the directory (AuFS)."""
        return False

    def opacity(self, dir_fd: int, names: Sequence[str]) -> tuple[bool, bool]:
        """(opaque, may hold xattr whiteouts) of an open directory holding `names`."""
        return False, False


class Overlay(UnionFormat):
    def __init__(self, userxattr: bool = False) -> None:
        prefix = "user.overlay." if userxattr else "trusted.overlay."
        self.opaque_xattr, self.whiteout_xattr = prefix + "opaque", prefix + "whiteout"

    def is_whiteout(self, dir_fd: int, name: str, st: os.stat_result, xwhiteouts: bool) -> bool:
        if stat.S_ISCHR(st.st_mode):
            return st.st_rdev == 0
        # The xattr form counts only where the parent directory's opaque xattr is "x".
        empty_file = stat.S_ISREG(st.st_mode) and st.st_size == 0
        return xwhiteouts and empty_file and xattr_at(dir_fd, name, self.whiteout_xattr) is not None

    def opacity(self, dir_fd: int, names: Sequence[str]) -> tuple[bool, bool]:
        value = xattr(dir_fd, self.opaque_xattr)
        return value == b"y", value == b"x"


class Aufs(UnionFormat):
    def hidden(self, name: str) -> bool:
        return name.startswith(_AUFS_META)

    def deleted_name(self, name: str) -> str | None:
        if name.startswith(_AUFS_WH) and not name.startswith(_AUFS_META):
            return name[len(_AUFS_WH) :]
        return None

    def whiteout_named(self, dir_fd: int, name: str) -> bool:
        return lstat_at(dir_fd, _AUFS_WH + name) is not None

    def opacity(self, dir_fd: int, names: Sequence[str]) -> tuple[bool, bool]:
        return _AUFS_OPAQUE in names, False
