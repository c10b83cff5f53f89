"""Mount tables, /proc/PID/mountinfo (proc(5)): the one parser of them, and where a process's root is.

Mount points are relative to the *reading process's view of that process's root*: for a process that
chroot()ed or pivot_root()ed into its rootfs, the mount of that rootfs is listed at "/" and mounts
outside its root are left out. Fields are octal-escaped by the kernel (space \\040, tab \\011, newline
\\012, backslash \\134); super options are escaped one by one (seq_show_option: comma, space, tab,
newline, backslash), so they are split at commas and unescaped only when read.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import AccessDenied, InvalidFormat, ProcessGone
from cgscope.fs.files import DENIED_ERRNOS, GONE_ERRNOS, StrPath, decode, read_text
from cgscope.fs.parse import integer

_OCTAL = re.compile(rb"\\([0-3][0-7]{2})")


@dataclass(frozen=True, slots=True)
class Mount:
    mount_id: int
    parent_id: int
    dev: tuple[int, int]  # st_dev of the filesystem: (major, minor)
    root: str  # the directory of the filesystem mounted here ("/" unless a bind mount of a subtree)
    mountpoint: str
    options: tuple[str, ...]  # per-mount options: "rw"/"ro", "nosuid", ...
    fstype: str
    source: str
    super_options: tuple[str, ...]  # per-superblock options, each still octal-escaped

    @property
    def readonly(self) -> bool:
        return "ro" in self.options

    def option(self, name: str) -> str | None:
        """The value of super option `name` ("si"), unescaped; "" for a flag, None when absent."""
        for opt in self.super_options:
            key, sep, value = opt.partition("=")
            if key == name:
                return unescape(value) if sep else ""
        return None


def unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040 ...). An escape stands for a
    byte, so the field is unescaped as bytes and decoded again, losslessly (surrogateescape)."""
    if "\\" not in field:
        return field
    raw = _OCTAL.sub(lambda m: bytes([int(m.group(1), 8)]), field.encode("utf-8", "surrogateescape"))
    return decode(raw)


def split_options(field: str) -> tuple[str, ...]:
    """Super options split at commas, each left octal-escaped. SELinux shows its context options quoted,
    with commas unescaped inside: context="system_u:object_r:data_t:s0:c171,c852"."""
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in field:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    out.append("".join(current))
    return tuple(o for o in out if o)


def parse_mountinfo(text: str, path: StrPath) -> list[Mount]:
    """Every line of a mountinfo file: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root
    rw,errors=continue" (proc(5)): ids, device, root, mount point, mount options, optional fields, then
    after " - " the filesystem type, the source and the super options."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split(" ")
        # Super options some filesystems print without escaping their spaces: the rest of the line.
        fstype, _, rest = right.partition(" ")
        source, sep2, superopts = rest.partition(" ")
        if not (sep and sep2 and fstype) or len(fields) < 6:
            raise InvalidFormat(path, line)
        major, colon, minor = fields[2].partition(":")
        if not colon:
            raise InvalidFormat(path, line)
        mounts.append(
            Mount(
                mount_id=integer(fields[0], path, line),
                parent_id=integer(fields[1], path, line),
                dev=(integer(major, path, line), integer(minor, path, line)),
                root=unescape(fields[3]),
                mountpoint=unescape(fields[4]),
                options=tuple(fields[5].split(",")),
                fstype=unescape(fstype),
                source=unescape(source),
                super_options=split_options(superopts),
            )
        )
    return mounts


def read_mountinfo(path: Path) -> list[Mount]:
    return parse_mountinfo(read_text(path), path)


def read_mount_table(proc: Path, pid: int | str) -> list[Mount]:
    """The mount table of process `pid` ("self": the reader's). A process that is exiting, or a zombie,
    has dropped its mount namespace: the kernel answers EINVAL, and it is gone."""
    path = proc / str(pid) / "mountinfo"
    try:
        return read_mountinfo(path)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            raise ProcessGone(
                f"{path}: gone: the process is exiting or a zombie, and has no mounts"
            ) from None
        raise


def root_device(proc: Path, pid: int) -> tuple[int, int] | None:
    """st_dev of the process's root directory, which tells its mount among several stacked at "/"; None
    where /proc/PID/root cannot be followed (a fixture tree)."""
    try:
        st = os.stat(proc / str(pid) / "root")
    except OSError:
        return None
    return os.major(st.st_dev), os.minor(st.st_dev)


def root_link(proc: Path, pid: int) -> str | None:
    """Where /proc/PID/root points, as the reader sees it ("/" for a process in another mount namespace
    that pivot_root()ed; the rootfs path for one that chroot()ed). Needs ptrace access (EACCES: None)."""
    path = proc / str(pid) / "root"
    try:
        return os.readlink(path)
    except OSError as exc:
        if exc.errno in DENIED_ERRNOS:
            raise AccessDenied(f"{path}: permission denied") from None
        if exc.errno in GONE_ERRNOS and not path.parent.is_dir():
            raise ProcessGone(f"{path}: gone while reading") from None
        return None
