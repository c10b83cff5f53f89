"""Opening the directories of a union mount's layers as its options name them, without being led anywhere
else.

The options are strings the mounter wrote, and the paths in them pass through directories other users
may own: a symlink planted there after the mount was made would lead root's reads to any directory of the
host (the kernel resolved the path once, when mounting). So a layer path is opened component by component
from the host's root, each in the directory before it (fs/dirfd.py), and a symlink on the way is followed
only when

- root made it in a directory only root may change (an administrator's /var/lib/docker -> /srv/docker), or
- it is a runtime's short layer link: Docker's and Podman's lowerdir names <store>/l/<short>, a symlink
  reading "../<layer>/diff", which is resolved by that layout as <store>/<layer>/diff, whoever owns it.

Then what was opened is compared with what the kernel mounted. An overlay's root directory reports the
mode, size and times of its upper directory, or of its top lower one when it has none (fs/overlayfs/
inode.c, ovl_getattr: the real directory's attributes), and its change time is one no user can set. Its
st_dev is the overlay's own; its st_ino is the real one only where every layer is on one filesystem
(ovl_map_dev_ino), and then it must match too.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import AccessDenied, CgscopeError, ProcessGone
from cgscope.fs.dirfd import DIR_FLAGS, PATH_FLAGS

_MAX_LINKS = 40  # the kernel's own limit of symlinks followed in one lookup (MAXSYMLINKS)
_SHORT_LINK = re.compile(r"\.\./([A-Za-z0-9][A-Za-z0-9_.-]*)/diff")
_SWAPPED = frozenset({errno.ELOOP, errno.ENOTDIR})  # a component turned into a symlink or a file meanwhile


class Refused(CgscopeError):
    """A layer directory cgscope does not read: the message says why, in one line."""


@dataclass(frozen=True)
class LayerDir:
    """A layer's directory, open for reading."""

    fd: int
    resolved: str | None  # the host path reached, where symlinks made it differ from the mount's
    st: os.stat_result

    def close(self) -> None:
        os.close(self.fd)


def _shown(names: list[str], name: str | None = None) -> str:
    return "/" + "/".join([*names, *([name] if name is not None else [])])


def _trusted(link: os.stat_result, dir_fd: int) -> bool:
    """A symlink that only root can have put there: root's, in a root-owned directory that no one else may
    write to (or only with the sticky bit, where no one else may remove or rename root's entries)."""
    parent = os.fstat(dir_fd)
    locked = not parent.st_mode & 0o022 or parent.st_mode & stat.S_ISVTX
    return link.st_uid == 0 and parent.st_uid == 0 and bool(locked)


class _Lookup:
    """The directories walked so far, each open (O_PATH) in the one before it."""

    def __init__(self, root: Path) -> None:
        self.root_fd = os.open(root, PATH_FLAGS & ~os.O_NOFOLLOW)  # the host's root: the caller's to trust
        self.chain: list[tuple[str, int]] = []
        self.links = 0

    @property
    def fd(self) -> int:
        return self.chain[-1][1] if self.chain else self.root_fd

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.chain]

    def up(self, to_root: bool = False) -> None:
        while self.chain:
            os.close(self.chain.pop()[1])
            if not to_root:
                return

    def close(self) -> None:
        self.up(to_root=True)
        os.close(self.root_fd)

    def follow(self, name: str, st: os.stat_result) -> list[str]:
        """The components a symlink on the way stands for, if cgscope follows it; Refused if not."""
        self.links += 1
        if self.links > _MAX_LINKS:
            raise Refused(f"more than {_MAX_LINKS} symlinks on the way")
        target = os.readlink(name, dir_fd=self.fd)
        names = self.names
        short = _SHORT_LINK.fullmatch(target)
        if not ((short and names and names[-1] == "l") or _trusted(st, self.fd)):
            raise Refused(
                f"{_shown(names, name)} is a symlink owned by uid {st.st_uid} (cgscope follows only "
                "root's own links and the runtimes' l/<layer> links)"
            )
        if target.startswith("/"):
            self.up(to_root=True)
        return target.split("/")

    def enter(self, name: str) -> None:
        try:
            fd = os.open(name, PATH_FLAGS, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno in _SWAPPED:
                raise Refused(f"{_shown(self.names, name)} changed while it was opened") from None
            raise
        self.chain.append((name, fd))


def open_layer(root: Path, path: str) -> LayerDir:
    """The directory at host path `path` (under `root`, the host's root), opened for reading by the rules
    above. Refused, AccessDenied or ProcessGone (no such directory) say why it was not."""
    try:
        lookup = _Lookup(root)
    except OSError as exc:
        raise ProcessGone(f"{root}: {exc.strerror}") from None
    pending = deque(path.split("/"))
    followed = False
    try:
        while pending:
            name = pending.popleft()
            if name in ("", "."):
                continue
            if name == "..":
                lookup.up()
                continue
            st = os.stat(name, dir_fd=lookup.fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                pending.extendleft(reversed(lookup.follow(name, st)))
                followed = True
            elif stat.S_ISDIR(st.st_mode):
                lookup.enter(name)
            else:
                raise Refused(f"{_shown(lookup.names, name)} is not a directory")
        fd = os.open(".", DIR_FLAGS, dir_fd=lookup.fd)
        return LayerDir(fd, _shown(lookup.names) if followed else None, os.fstat(fd))
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise AccessDenied(f"{path}: permission denied") from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise ProcessGone(f"{path}: no such directory") from None
        raise
    finally:
        lookup.close()


# -- what the kernel mounted ---------------------------------------------------------------------


def mounted_root(proc: Path, pid: int, dev: tuple[int, int]) -> LayerDir | None:
    """The root directory of process `pid`, open, when it is on the filesystem `dev` (the overlay it
    stands on); None where it cannot be opened (another user's process, a fixture's proc tree)."""
    try:
        fd = os.open(proc / str(pid) / "root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    st = os.fstat(fd)
    if (os.major(st.st_dev), os.minor(st.st_dev)) != dev:
        os.close(fd)
        return None
    return LayerDir(fd, None, st)


def _attributes(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def shows(root: LayerDir, top: LayerDir) -> bool:
    """Whether the overlay root `root` shows the directory `top` (its upper, or its top lower one). A
    container writing to its "/" meanwhile changes both: they are compared again until one is steady."""
    for _ in range(5):
        before, mine, after = os.fstat(root.fd), os.fstat(top.fd), os.fstat(root.fd)
        if _attributes(mine) in (_attributes(before), _attributes(after)):
            return True
        if _attributes(before) == _attributes(after):
            return False
    return False


def inode_agrees(root: LayerDir, layers: Sequence[LayerDir]) -> bool:
    """Whether the overlay root's inode number is one of `layers`' (all its layers, top first), where the
    kernel reports a real one: when they are all on one filesystem, its root's is the top layer's, or
    with `index=on` the top lower one's, its copy-up origin (ovl_map_dev_ino, ovl_getattr)."""
    if len({d.st.st_dev for d in layers}) != 1:
        return True  # no real inode number is reported: nothing to compare
    return root.st.st_ino in {d.st.st_ino for d in layers[:2]}
