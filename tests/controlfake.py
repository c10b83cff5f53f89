"""Fixture hosts for the control layer: FakeHost trees whose cgroups carry the interface files cgscope
writes, with the values a fresh cgroup shows (cgroup-v1/*.rst, cgroup-v2.rst; read on Linux 6.1).

`control_host(tmp_path, mode)` lays out two CPUs (0-1), block devices 8:0 (a disk) and 8:1 (a partition)
and these processes: 1 (init), 2 (kthreadd), 100 (a shell alone in the root cgroups), 300 and 301 (two
processes sharing /system.slice/app.service), 400 (alone in /box/inner, below a /box whose cpu quota is
half a CPU and whose cpuset is CPU 0).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Collection
from pathlib import Path

from fakehost import FakeHost, Mode

from cgscope.control.files import CgroupFiles
from cgscope.errors import ProcessGone
from cgscope.fs import procfs
from cgscope.fs.hostroot import HostRoot

V1_UNLIMITED = "9223372036854771712"  # PAGE_COUNTER_MAX pages in bytes, 4 KiB pages
# (file, value in a new cgroup) for each v1 controller; None: the root cgroup lacks the file too.
V1_FILES = {
    "cpu": [("cpu.cfs_quota_us", "-1"), ("cpu.cfs_period_us", "100000"), ("cpu.shares", "1024")],
    "memory": [
        ("memory.limit_in_bytes", V1_UNLIMITED),
        ("memory.memsw.limit_in_bytes", V1_UNLIMITED),
        ("memory.usage_in_bytes", "1048576"),
    ],
    "pids": [("pids.max", "max"), ("pids.current", "1")],
    "cpuset": [("cpuset.cpus", "0-1"), ("cpuset.mems", "0")],
    "freezer": [("freezer.state", "THAWED")],
    "blkio": [
        ("blkio.bfq.weight", "100"),
        ("blkio.throttle.read_bps_device", ""),
        ("blkio.throttle.write_bps_device", ""),
        ("blkio.throttle.read_iops_device", ""),
        ("blkio.throttle.write_iops_device", ""),
    ],
}
V1_ROOT_FILES = {"cpu", "memory", "cpuset"}  # pids.max, freezer.state, blkio.bfq.weight: not in a root
V2_FILES = [
    ("cgroup.type", "domain"),
    ("cgroup.freeze", "0"),
    ("cgroup.events", "populated 1\nfrozen 0"),
    ("cpu.max", "max 100000"),
    ("cpu.weight", "100"),
    ("memory.max", "max"),
    ("memory.swap.max", "max"),
    ("memory.current", "1048576"),
    ("pids.max", "max"),
    ("cpuset.cpus", ""),
    ("cpuset.cpus.effective", "0-1"),
    ("io.max", ""),
    ("io.weight", "default 100"),
]


def control_host(tmp_path: Path, mode: Mode = "hybrid") -> FakeHost:
    host = FakeHost(tmp_path, mode)
    host.write("/sys/devices/system/cpu/online", "0-1\n")
    host.write("/sys/dev/block/8:0/dev", "8:0\n")
    host.write("/sys/dev/block/8:1/dev", "8:1\n")
    host.write("/sys/dev/block/8:1/partition", "1\n")
    host.add_process(1, "systemd", ["/sbin/init"], ppid=0)
    host.add_process(2, "kthreadd", ppid=0, kernel_thread=True)
    host.add_process(100, "sh", ["sh", "-c", "while :; do :; done"], start_ticks=5000)
    host.add_process(300, "app", ["app", "--serve"], cgroup="/system.slice/app.service")
    host.add_process(301, "app", ["app", "--worker"], cgroup="/system.slice/app.service")
    host.add_process(400, "job", ["job"], cgroup="/box/inner")
    add_interface_files(host)
    if mode != "v2":
        for key, name, value in (("cpu", "cpu.cfs_quota_us", "50000"), ("cpuset", "cpuset.cpus", "0")):
            directory = host.cgroup_dir(key, "/box")
            assert directory is not None
            (directory / name).write_text(value + "\n")
    return host


def add_interface_files(host: FakeHost) -> None:
    """Give every cgroup of the fake host the files of its controllers, as a new cgroup has them."""
    for h in host.hierarchies:
        top = host.path(h.mountpoint)
        for directory in [top, *(d for d in top.rglob("*") if d.is_dir())]:
            root = directory == top
            if h.version == 2:
                enabled = (
                    (directory.parent / "cgroup.subtree_control").read_text().split() if not root else []
                )
                files = [(n, v) for n, v in V2_FILES if n.split(".")[0] in (*enabled, "cgroup")]
                if root:
                    files = [("cpuset.cpus.effective", "0-1")] if host.mode == "v2" else []
            else:
                controllers = h.key.split(",")
                files = [
                    f for c in controllers if not root or c in V1_ROOT_FILES for f in V1_FILES.get(c, [])
                ]
            for name, value in files:
                path = directory / name
                if not path.exists():
                    path.write_text(value + "\n" if value else "")


def snapshot(root: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every file, directory and symlink under `root` with its content: compare before and after."""
    out: dict[str, tuple[str, bytes | str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                out[rel] = ("dir", "")
            else:
                out[rel] = ("file", path.read_bytes())
    return out


class FixtureFiles(CgroupFiles):
    """The writer's system calls on a fixture tree: mkdir gives the new cgroup its interface files, as
    the kernel does. `fail_on` (1-based, counting writes) makes that write fail with `errno_`;
    `unwritable` names files (relative to the tree) this user may not write, as a non-root user's;
    `calls` records ("mkdir"|"rmdir"|"write"|"signal", path or pid, value) in order. A signal is only
    recorded, after the identity check the kernel's pidfd makes possible: no real process gets it."""

    def __init__(
        self,
        host: FakeHost,
        fail_on: int | None = None,
        errno_: int = errno.EINVAL,
        unwritable: Collection[str] = (),
    ) -> None:
        self.host = host
        self.fail_on = fail_on
        self.errno = errno_
        self.unwritable = set(unwritable)
        self.writes = 0
        self.calls: list[tuple[str, str, str]] = []

    def writable(self, path: Path) -> bool:
        return str(path.relative_to(self.host.root)) not in self.unwritable

    def may_signal(self, host: HostRoot, pid: int) -> bool:
        return True

    def signal(self, host: HostRoot, pid: int, start_ticks: int | None, signum: int) -> None:
        if procfs.read_stat(host.proc, pid).start_ticks != start_ticks:
            raise ProcessGone(f"process {pid} has exited and its pid names another process: nothing sent")
        self.calls.append(("signal", str(pid), str(signum)))

    def write(self, path: Path, value: str) -> None:
        self.writes += 1
        self.calls.append(("write", str(path.relative_to(self.host.root)), value))
        if self.writes == self.fail_on:
            raise OSError(self.errno, os.strerror(self.errno), str(path))
        super().write(path, value)

    def mkdir(self, path: Path) -> None:
        self.calls.append(("mkdir", str(path.relative_to(self.host.root)), ""))
        super().mkdir(path)
        (path / "cgroup.procs").write_text("")
        h = next(h for h in self.host.hierarchies if self.host.path(h.mountpoint) in path.parents)
        if h.version == 2:
            enabled = (path.parent / "cgroup.subtree_control").read_text().split()
            (path / "cgroup.controllers").write_text(" ".join(enabled) + "\n" if enabled else "")
            (path / "cgroup.subtree_control").write_text("")
            files = [(n, v) for n, v in V2_FILES if n.split(".")[0] in (*enabled, "cgroup")]
        else:
            files = [f for c in h.key.split(",") for f in V1_FILES.get(c, [])]
            files = [(n, "" if n.startswith("cpuset.") else v) for n, v in files]  # a new v1 cpuset is empty
        for name, value in files:
            (path / name).write_text(value + "\n" if value else "")

    def rmdir(self, path: Path) -> None:
        self.calls.append(("rmdir", str(path.relative_to(self.host.root)), ""))
        for child in path.iterdir():  # the kernel takes a cgroup's interface files with it
            if child.is_file():
                child.unlink()
        super().rmdir(path)
