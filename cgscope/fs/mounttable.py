"""A process's whole mount table, /proc/PID/mountinfo (proc(5)), and where its root directory is.

Mount points are relative to the *reading process's view of that process's root*: for a process that
chroot()ed or pivot_root()ed into its rootfs, the mount of that rootfs is listed at "/" and mounts
outside its root are left out. Fields are octal-escaped by the kernel (space \\040, tab \\011, newline
\\012, backslash \\134); super options are escaped one by one (seq_show_option: comma, space, tab,
newline, backslash), so they are split at commas and unescaped only when read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs.errors import DENIED_ERRNOS, GONE_ERRNOS, reading
from cgscope.fs.mounts import unescape


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


def parse_mount_table(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split(" ")
        if not sep or len(fields) < 6:
            continue
        fstype, source, superopts = [*right.split(" "), "", ""][:3]
        major, _, minor = fields[2].partition(":")
        mounts.append(
            Mount(
                mount_id=int(fields[0]),
                parent_id=int(fields[1]),
                dev=(int(major), int(minor)),
                root=unescape(fields[3]),
                mountpoint=unescape(fields[4]),
                options=tuple(fields[5].split(",")),
                fstype=unescape(fstype),
                source=unescape(source),
                super_options=split_options(superopts),
            )
        )
    return mounts


def read_mount_table(proc: Path, pid: int | str) -> list[Mount]:
    path = proc / str(pid) / "mountinfo"
    with reading(path):
        return parse_mount_table(path.read_text(errors="surrogateescape"))


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
