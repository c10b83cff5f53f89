"""A process's own memory and IO, from /proc/PID/smaps_rollup, statm and io (proc(5)): what a container
that does not own its cgroup is measured by (model/member_usage.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import InvalidFormat
from cgscope.fs.files import read_optional
from cgscope.fs.parse import integer

_ROLLUP_KEYS = {"Pss": "pss", "Pss_Anon": "anon", "Pss_File": "file", "Pss_Shmem": "shmem", "SwapPss": "swap"}


@dataclass(frozen=True, slots=True)
class ProcessMemory:
    """Bytes of memory one process uses. From smaps_rollup these are proportional set sizes (a page
    shared by n processes counts 1/n to each, so members' figures add up); from statm, resident pages."""

    resident: int
    anon: int
    file: int  # page cache mapped, shmem included (as memory.stat's "file")
    shmem: int
    swap: int | None  # its share of swap (SwapPss); None from statm, which does not tell


def parse_rollup(text: str, path: str) -> ProcessMemory:
    """smaps_rollup: a header line, then "Key:  N kB" lines (fs/proc/task_mmu.c, show_smaps_rollup).
    Pss_Anon, Pss_File and Pss_Shmem are there since Linux 5.7; empty for a process without memory (a
    zombie, a kernel thread)."""
    kib: dict[str, int] = {}
    for line in text.splitlines()[1:]:
        key, sep, rest = line.partition(":")
        words = rest.split()
        if not sep or len(words) != 2 or words[1] != "kB":
            raise InvalidFormat(path, line)
        if key in _ROLLUP_KEYS:
            kib[_ROLLUP_KEYS[key]] = integer(words[0], path, line) * 1024
    if text and "pss" not in kib:
        raise InvalidFormat(path, text.splitlines()[0], "no Pss line after")
    anon, file, shmem = kib.get("anon", 0), kib.get("file", 0), kib.get("shmem", 0)
    if "anon" not in kib:  # before 5.7: Pss alone, its kinds unknown
        anon = kib.get("pss", 0)
    return ProcessMemory(kib.get("pss", 0), anon, file + shmem, shmem, kib.get("swap", 0))


def read_rollup(proc: Path, pid: int) -> ProcessMemory | None:
    """Walks the process's page tables in the kernel: costly for a large process, read only for the
    processes of a container that shares its cgroup. Needs ptrace read access (AccessDenied else);
    None where the kernel offers no such file (before 4.14)."""
    path = f"{proc}/{pid}/smaps_rollup"
    text = read_optional(path)
    return None if text is None else parse_rollup(text, path)


def parse_statm(text: str, path: str, page_size: int) -> ProcessMemory:
    """statm: size resident shared text lib data dt, in pages; "shared" is file-backed and shmem pages."""
    line = text.rstrip("\n")
    words = line.split()
    if len(words) != 7:
        raise InvalidFormat(path, line)
    resident, shared = (integer(w, path, line) * page_size for w in words[1:3])
    return ProcessMemory(resident, max(0, resident - shared), shared, 0, None)


def read_statm(proc: Path, pid: int, page_size: int) -> ProcessMemory | None:
    path = f"{proc}/{pid}/statm"
    text = read_optional(path)
    return None if text is None else parse_statm(text, path, page_size)


def parse_io(text: str, path: str) -> tuple[int, int]:
    """(read_bytes, write_bytes): what the process (its exited threads and the children it waited for
    included: kernel/exit.c, wait_task_zombie) made the block layer read and write."""
    found: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if not sep:
            raise InvalidFormat(path, line)
        if key in ("read_bytes", "write_bytes"):
            found[key] = integer(value, path, line)
    if len(found) != 2:
        raise InvalidFormat(path, text.rstrip("\n"), "no read_bytes and write_bytes in")
    return found["read_bytes"], found["write_bytes"]


def read_io(proc: Path, pid: int) -> tuple[int, int] | None:
    """Needs ptrace read access (AccessDenied else), as smaps_rollup does; None where the kernel keeps
    no such counts (CONFIG_TASK_IO_ACCOUNTING off)."""
    path = f"{proc}/{pid}/io"
    text = read_optional(path)
    return None if text is None else parse_io(text, path)
