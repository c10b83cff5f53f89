"""A process's usage files, as the kernel writes them: /proc/PID/stat's times (fs/proc/array.c,
do_task_stat), smaps_rollup (fs/proc/task_mmu.c, show_smaps_rollup), statm (task_statm) and io
(fs/proc/base.c, do_io_accounting). What a container that shares its cgroup is measured by."""

from __future__ import annotations

import shutil

from fakehost import FakeHost

KIB = 1024


def set_times(h: FakeHost, pid: int, utime: int, stime: int, *, cutime: int = 0, cstime: int = 0) -> None:
    """Fields 14-17 of the process's stat (FakeHost.add_process wrote it), in clock ticks."""
    path = h.path(f"/proc/{pid}/stat")
    text = path.read_text()
    head, _, rest = text.rpartition(") ")
    fields = rest.split()
    fields[11:15] = map(str, (utime, stime, cutime, cstime))  # after "(comm) ": state is field 3
    path.write_text(f"{head}) {' '.join(fields)}\n")


def write_rollup(
    h: FakeHost, pid: int, *, anon_kib: int, file_kib: int, shmem_kib: int = 0, swap_kib: int = 0
) -> None:
    pss = anon_kib + file_kib + shmem_kib
    rows = {
        "Rss": pss * 3, "Pss": pss, "Pss_Dirty": anon_kib, "Pss_Anon": anon_kib, "Pss_File": file_kib,
        "Pss_Shmem": shmem_kib, "Shared_Clean": pss * 2, "Shared_Dirty": 0, "Private_Clean": file_kib,
        "Private_Dirty": anon_kib, "Referenced": pss * 3, "Anonymous": anon_kib, "KSM": 0, "LazyFree": 0,
        "AnonHugePages": 0, "ShmemPmdMapped": 0, "FilePmdMapped": 0, "Shared_Hugetlb": 0,
        "Private_Hugetlb": 0, "Swap": swap_kib, "SwapPss": swap_kib, "Locked": 0,
    }  # fmt: skip
    header = "55a0c5e5d000-7ffd8b5fe000 ---p 00000000 00:00 0                          [rollup]\n"
    lines = "".join(f"{k + ':':<16}{v:>8} kB\n" for k, v in rows.items())
    h.write(f"/proc/{pid}/smaps_rollup", header + lines)


def write_statm(h: FakeHost, pid: int, *, resident_pages: int, shared_pages: int) -> None:
    h.write(f"/proc/{pid}/statm", f"{resident_pages * 4} {resident_pages} {shared_pages} 5 0 123 0\n")


def write_io(h: FakeHost, pid: int, *, read_bytes: int, write_bytes: int) -> None:
    h.write(
        f"/proc/{pid}/io",
        f"rchar: {read_bytes + 6976}\nwchar: {write_bytes}\nsyscr: 10\nsyscw: 3\n"
        f"read_bytes: {read_bytes}\nwrite_bytes: {write_bytes}\ncancelled_write_bytes: 0\n",
    )


def remove(h: FakeHost, pid: int) -> None:
    """The process exits and is reaped: its /proc directory goes, and its line in each cgroup.procs."""
    shutil.rmtree(h.path(f"/proc/{pid}"))
    for procs in h.path("/sys/fs/cgroup").rglob("cgroup.procs"):
        lines = procs.read_text().splitlines()
        procs.write_text("".join(f"{p}\n" for p in lines if p != str(pid)))
