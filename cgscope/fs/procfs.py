"""Parsers for the per-process files of proc(5): stat, cmdline, cgroup, the ns links. Each reader names
the file it failed on; /proc/PID/status has a module of its own (fs/status.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import AccessDenied, InvalidFormat, ProcessGone
from cgscope.fs.files import (
    DENIED_ERRNOS,
    GONE_ERRNOS,
    StrPath,
    decode,
    list_dir,
    open_fd,
    read_text,
    reading,
)
from cgscope.fs.parse import integer
from cgscope.fs.piddir import PidDir

# The 8 namespace types of namespaces(7), in lsns's order.
NS_TYPES = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")
PF_KTHREAD = 0x00200000  # include/linux/sched.h: the task is a kernel thread
_STAT_FIELDS = 22  # the fields after comm that parse_stat reads: state ... rss (proc(5) fields 3-24)
# after comm: ppid flags utime stime cutime cstime num_threads starttime rss
_STAT_USED = (1, 6, 11, 12, 13, 14, 17, 19, 21)


@dataclass(frozen=True, slots=True)
class Stat:
    """The fields of /proc/PID/stat that cgscope uses."""

    pid: int
    comm: str
    state: str
    ppid: int
    flags: int
    utime: int  # clock ticks
    stime: int
    cutime: int  # of the children it waited for (and theirs), clock ticks
    cstime: int
    num_threads: int
    start_ticks: int  # clock ticks after boot: with the pid, a process's identity
    rss_pages: int

    @property
    def kernel_thread(self) -> bool:
        return bool(self.flags & PF_KTHREAD)


def pids(proc: Path) -> dict[int, int]:
    """The process ids under `proc` (threads are not listed at the top level), each with the inode of
    its /proc/PID directory: a new process (even one reusing a pid) gets a new one."""
    with reading(proc):
        entries = list_dir(proc)
    return {int(e.name): e.inode() for e in entries if e.name.isascii() and e.name.isdigit()}


def parse_stat(pid: int, text: str, path: StrPath) -> Stat:
    """comm may hold spaces and parentheses (it is what the process chose): it runs from the first "("
    to the last ")", and the fields follow."""
    lpar, rpar = text.find("("), text.rfind(")")
    rest = text[rpar + 1 :].split() if 0 <= lpar < rpar else []
    if len(rest) < _STAT_FIELDS or len(rest[0]) != 1:
        raise InvalidFormat(path, text.rstrip("\n"), "no '(comm) state ...' fields in")
    line = text.rstrip("\n")
    ppid, flags, utime, stime, cutime, cstime, threads, start, rss = (
        integer(rest[n], path, line) for n in _STAT_USED
    )
    comm = text[lpar + 1 : rpar]
    return Stat(pid, comm, rest[0], ppid, flags, utime, stime, cutime, cstime, threads, start, rss)


def read_stat(proc: Path, pid: int) -> Stat:
    return stat_of(PidDir.at(proc, pid), pid)


def stat_of(d: PidDir, pid: int) -> Stat:
    text = d.read_text("stat")
    if not text:  # a task being reaped can leave an empty file
        raise ProcessGone(f"{d.name('stat')}: gone while reading")
    return parse_stat(pid, text, d.name("stat"))


def parse_cmdline(text: str) -> tuple[str, ...]:
    """argv: NUL-terminated strings, the last NUL missing when the process rewrote its arguments."""
    return tuple(text.removesuffix("\0").split("\0")) if text else ()


def read_cmdline(proc: Path, pid: int) -> tuple[str, ...]:
    """argv as the process shows it; empty for kernel threads and zombies."""
    return cmdline_of(PidDir.at(proc, pid))


def cmdline_of(d: PidDir) -> tuple[str, ...]:
    return parse_cmdline(d.read_text("cmdline"))


def read_environ(proc: Path, pid: int) -> dict[str, str]:
    """The environment the process was started with (as of its execve: proc(5)); bytes that are not
    UTF-8 are kept as surrogate escapes, so they reach a child unchanged."""
    out: dict[str, str] = {}
    for item in read_text(f"{proc}/{pid}/environ").split("\0"):
        key, sep, value = item.partition("=")
        if sep and key:  # the first of two same names wins, as getenv(3) finds it
            out.setdefault(key, value)
    return out


def read_comm(proc: Path, pid: int) -> str:
    """The command name (comm, at most 15 bytes), as /proc/PID/comm gives it. Read for every process on
    the host (which are runtime daemons): a bare read(2), a quarter of what a buffered open() costs."""
    path = f"{proc}/{pid}/comm"
    with reading(path):
        fd = open_fd(path)
        try:
            data = os.read(fd, 64)
        finally:
            os.close(fd)
    return decode(data.rstrip(b"\n"))


def parse_cgroup(text: str, path: StrPath) -> list[tuple[str, str]]:
    """(controllers, path) per line of /proc/PID/cgroup: "4:memory:/a/b" -> ("memory", "/a/b"); v2 is ""."""
    out = []
    for line in text.splitlines():
        fields = line.split(":", 2)
        if not (len(fields) == 3 and fields[2].startswith("/") and _is_small_number(fields[0])):
            raise InvalidFormat(path, line)
        # A zombie whose cgroup was removed shows "PATH (deleted)" (kernel/cgroup/cgroup.c, proc_cgroup_show).
        out.append((fields[1], fields[2].removesuffix(" (deleted)")))
    return out


def _is_small_number(word: str) -> bool:
    """A hierarchy id: ASCII digits, a handful of them."""
    return len(word) < 10 and word.isdigit() and word.isascii()


def read_cgroup(proc: Path, pid: int) -> list[tuple[str, str]]:
    return cgroup_of(PidDir.at(proc, pid))


def cgroup_of(d: PidDir) -> list[tuple[str, str]]:
    return parse_cgroup(d.read_text("cgroup"), d.name("cgroup"))


def parse_ns_link(target: str, link: StrPath) -> int:
    """The inode an ns link names: "net:[4026531840]" (namespaces(7))."""
    start = target.find(":[") + 2
    inode = target[start:-1]
    if start > 1 and target[-1] == "]" and len(inode) < 20 and inode.isdigit() and inode.isascii():
        return int(inode)
    raise InvalidFormat(link, target, "not a namespace link:")


def read_ns(proc: Path, pid: int, types: tuple[str, ...] = NS_TYPES) -> dict[str, int | None]:
    """Namespace inodes by type; None where it cannot be read (EACCES: e.g. a more privileged process).

    A missing link (a kernel without time namespaces) is None too; the whole process being gone raises.
    """
    return ns_of(PidDir.at(proc, pid), types)


def ns_of(d: PidDir, types: tuple[str, ...] = NS_TYPES) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for ns in types:
        link = d.name(f"ns/{ns}")
        try:
            target = d.read_link(f"ns/{ns}")
        except OSError as exc:
            if exc.errno in DENIED_ERRNOS:
                out[ns] = None
                continue
            if exc.errno in GONE_ERRNOS:
                if d.gone():
                    raise ProcessGone(f"{link}: gone while reading") from None
                out[ns] = None
                continue
            raise
        out[ns] = parse_ns_link(target, link)
    return out


def parse_boot_time(text: str, path: StrPath) -> float:
    """Seconds since the epoch at boot: the btime line of /proc/stat."""
    for line in text.splitlines():
        if line.startswith("btime "):
            return integer(line[6:], path, line)
    raise InvalidFormat(path, None, "no btime line")


def boot_time(proc: Path) -> float:
    path = proc / "stat"
    return parse_boot_time(read_text(path), path)


def clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def page_size() -> int:
    return os.sysconf("SC_PAGE_SIZE")


def kernel_identity(proc: Path) -> tuple[str, str]:
    """(hostname, kernel release) as the host's /proc/sys/kernel shows them."""

    def read(name: str) -> str:
        try:
            return read_text(f"{proc}/sys/kernel/{name}").strip()
        except (ProcessGone, AccessDenied):
            return "?"

    return read("hostname"), read("osrelease")
