"""Parsers for the per-process files of proc(5). Each reader names the file it failed on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs.errors import DENIED_ERRNOS, GONE_ERRNOS, reading

# The 8 namespace types of namespaces(7), in lsns's order.
NS_TYPES = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")
PF_KTHREAD = 0x00200000  # include/linux/sched.h: the task is a kernel thread


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
    num_threads: int
    start_ticks: int  # clock ticks after boot: with the pid, a process's identity
    rss_pages: int

    @property
    def kernel_thread(self) -> bool:
        return bool(self.flags & PF_KTHREAD)


@dataclass(frozen=True, slots=True)
class Status:
    """The fields of /proc/PID/status that cgscope uses."""

    uid: int  # real uid
    nspid: tuple[int, ...]  # the pid in each nested pid namespace, outermost first (NSpid)


def pids(proc: Path) -> dict[int, int]:
    """The process ids under `proc` (threads are not listed at the top level), each with the inode of
    its /proc/PID directory: a new process (even one reusing a pid) gets a new one."""
    with reading(proc), os.scandir(proc) as entries:
        return {int(e.name): e.inode() for e in entries if e.name.isdigit()}


def _read(path: str) -> bytes:
    with reading(path), open(path, "rb") as f:
        return f.read()


def parse_stat(pid: int, data: bytes) -> Stat:
    # comm may hold spaces and parentheses: it runs from the first "(" to the last ")".
    lpar, rpar = data.index(b"("), data.rindex(b")")
    rest = data[rpar + 2 :].split()
    return Stat(
        pid=pid,
        comm=data[lpar + 1 : rpar].decode(errors="replace"),
        state=rest[0].decode(),
        ppid=int(rest[1]),
        flags=int(rest[6]),
        utime=int(rest[11]),
        stime=int(rest[12]),
        num_threads=int(rest[17]),
        start_ticks=int(rest[19]),
        rss_pages=int(rest[21]),
    )


def read_stat(proc: Path, pid: int) -> Stat:
    data = _read(f"{proc}/{pid}/stat")
    if not data:  # a task being reaped can leave an empty file
        raise ProcessGone(f"{proc}/{pid}/stat: gone while reading")
    return parse_stat(pid, data)


def parse_status(data: bytes) -> Status:
    uid = -1
    nspid_found: tuple[int, ...] = ()
    for line in data.split(b"\n"):
        if line.startswith(b"Uid:"):
            uid = int(line.split()[1])
        elif line.startswith(b"NSpid:"):
            nspid_found = tuple(int(x) for x in line.split()[1:])
            break  # NSpid follows Uid in every kernel that has it
    return Status(uid, nspid_found)


def read_status(proc: Path, pid: int) -> Status:
    return parse_status(_read(f"{proc}/{pid}/status"))


def read_cmdline(proc: Path, pid: int) -> tuple[str, ...]:
    """argv as the process shows it; empty for kernel threads and zombies."""
    data = _read(f"{proc}/{pid}/cmdline")
    return tuple(arg.decode(errors="replace") for arg in data.rstrip(b"\0").split(b"\0")) if data else ()


def read_environ(proc: Path, pid: int) -> dict[str, str]:
    """The environment the process was started with (as of its execve: proc(5)); bytes that are not
    UTF-8 are kept as surrogate escapes, so they reach a child unchanged."""
    out: dict[str, str] = {}
    for item in _read(f"{proc}/{pid}/environ").split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep and key:  # the first of two same names wins, as getenv(3) finds it
            out.setdefault(key.decode(errors="surrogateescape"), value.decode(errors="surrogateescape"))
    return out


def read_comm(proc: Path, pid: int) -> str:
    """The command name (comm, at most 15 bytes), as /proc/PID/comm gives it. Read for every process on
    the host (which are runtime daemons): a bare read(2), a quarter of what a buffered open() costs."""
    path = f"{proc}/{pid}/comm"
    with reading(path):
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            data = os.read(fd, 64)
        finally:
            os.close(fd)
    return data.rstrip(b"\n").decode(errors="replace")


def parse_cgroup(data: bytes) -> list[tuple[str, str]]:
    """(controllers, path) per line of /proc/PID/cgroup: "4:memory:/a/b" -> ("memory", "/a/b"); v2 is ""."""
    out = []
    for line in data.decode(errors="replace").splitlines():
        _hid, controllers, path = line.split(":", 2)
        # A zombie whose cgroup was removed shows "PATH (deleted)" (kernel/cgroup/cgroup.c, proc_cgroup_show).
        out.append((controllers, path.removesuffix(" (deleted)")))
    return out


def read_cgroup(proc: Path, pid: int) -> list[tuple[str, str]]:
    return parse_cgroup(_read(f"{proc}/{pid}/cgroup"))


def read_ns(proc: Path, pid: int, types: tuple[str, ...] = NS_TYPES) -> dict[str, int | None]:
    """Namespace inodes by type; None where it cannot be read (EACCES: e.g. a more privileged process).

    A missing link (a kernel without time namespaces) is None too; the whole process being gone raises.
    """
    out: dict[str, int | None] = {}
    for ns in types:
        link = f"{proc}/{pid}/ns/{ns}"
        try:
            target = os.readlink(link)  # "net:[4026531840]"
        except OSError as exc:
            if exc.errno in DENIED_ERRNOS:
                out[ns] = None
                continue
            if exc.errno in GONE_ERRNOS:
                if not os.path.exists(f"{proc}/{pid}"):
                    raise ProcessGone(f"{link}: gone while reading") from None
                out[ns] = None
                continue
            raise
        out[ns] = int(target[target.index("[") + 1 : -1])
    return out


def boot_time(proc: Path) -> float:
    """Seconds since the epoch at boot (the btime line of /proc/stat)."""
    for line in _read(f"{proc}/stat").split(b"\n"):
        if line.startswith(b"btime "):
            return float(line.split()[1])
    raise AccessDenied(f"{proc}/stat: no btime line")


def clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def kernel_identity(proc: Path) -> tuple[str, str]:
    """(hostname, kernel release) as the host's /proc/sys/kernel shows them."""

    def read(name: str) -> str:
        try:
            return _read(f"{proc}/sys/kernel/{name}").decode().strip()
        except (ProcessGone, AccessDenied):
            return "?"

    return read("hostname"), read("osrelease")
