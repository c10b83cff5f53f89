"""Where the host is: the proc directory and the cgroup mounts, found once and passed down."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from cgscope.errors import CgscopeError, NoCgroups
from cgscope.fs.mounts import UNIFIED, CgroupMount, cgroup_mounts
from cgscope.fs.mounttable import read_mountinfo

Mode = Literal["v1", "v2", "hybrid"]


@dataclass(frozen=True)
class HostRoot:
    """A host as cgscope reads it. `root` is "/" on the live host, a fixture directory in tests."""

    root: Path
    mounts: tuple[CgroupMount, ...]

    @classmethod
    def live(cls) -> HostRoot:
        return cls.at(Path("/"))

    @classmethod
    def at(cls, root: Path) -> HostRoot:
        """Read `root`/proc/self/mountinfo; mountpoints are re-rooted under `root`."""
        mountinfo = root / "proc/self/mountinfo"
        if not mountinfo.exists():
            raise CgscopeError(f"{mountinfo} not found: cgscope needs Linux with /proc mounted")
        return cls(root, cgroup_mounts(read_mountinfo(mountinfo), root))

    @property
    def is_live(self) -> bool:
        """The running kernel's files, not a captured or fixture tree of plain files: only there does a
        kept cgroup file answer ENODEV once its cgroup is removed, and PSI move every 2 s."""
        return self.root == Path("/")

    @cached_property
    def proc(self) -> Path:
        return self.root / "proc"

    def shown(self, path: Path) -> str:
        """A path under this root as the host names it: "/sys/fs/cgroup", not "<fixture>/sys/fs/cgroup"."""
        return "/" + path.relative_to(self.root).as_posix().removeprefix(".").lstrip("/")

    def path(self, absolute: str) -> Path:
        """A host path (a runtime's state file, /etc/passwd) under this root."""
        return self.root / absolute.lstrip("/")

    @property
    def mode(self) -> Mode:
        """v1, v2 or hybrid (v1 controllers beside a cgroup2 mount, as systemd's "hybrid" layout)."""
        has_v2 = self.unified is not None
        has_v1 = any(m.version == 1 for m in self.mounts)
        if not (has_v1 or has_v2):
            raise NoCgroups("no cgroup hierarchy is mounted (see /proc/self/mountinfo)")
        if has_v1 and has_v2:
            return "hybrid"
        return "v2" if has_v2 else "v1"

    @property
    def unified(self) -> CgroupMount | None:
        return next((m for m in self.mounts if m.version == 2), None)

    def mount(self, key: str) -> CgroupMount | None:
        """The hierarchy named `key` ("unified", "memory", "cpu,cpuacct", "name=systemd")."""
        return next((m for m in self.mounts if m.key == key), None)

    def mount_for(self, controller: str) -> CgroupMount | None:
        """The hierarchy that holds `controller`: its v1 mount if any, else cgroup2 if enabled there."""
        for m in self.mounts:
            if m.version == 1 and controller in m.controllers:
                return m
        unified = self.unified
        return unified if unified is not None and controller in unified.controllers else None

    @property
    def primary(self) -> CgroupMount | None:
        """The hierarchy whose paths best name a process's place: systemd's (cgroup2 or name=systemd)."""
        return self.unified or self.mount("name=systemd") or (self.mounts[0] if self.mounts else None)


__all__ = ["UNIFIED", "HostRoot", "Mode"]
