"""Where a cgroup's counters live: its directory in the hierarchy that holds each controller, with its
ancestors' (whose limits bind it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount


@dataclass(frozen=True)
class Located:
    """A cgroup's directory in one hierarchy, with its ancestors' up to the mounted root."""

    directory: Path
    mount: CgroupMount
    path_to_root: tuple[Path, ...] = ()

    @classmethod
    def at(cls, directory: Path, mount: CgroupMount) -> Located:
        chain = [directory]
        while chain[-1] != mount.mountpoint and chain[-1].parent != chain[-1]:
            chain.append(chain[-1].parent)
        return cls(directory, mount, tuple(chain))

    @property
    def version(self) -> int:
        return self.mount.version


@dataclass(frozen=True)
class CgroupDirs:
    """Where one cgroup's counters live: its directory in the hierarchy that holds each controller."""

    usage: Located | None  # v1 cpuacct; else cgroup2, whose cpu.stat counts usage even without +cpu
    cpu: Located | None  # quota and throttling
    cpuset: Located | None
    memory: Located | None
    pids: Located | None
    io: Located | None  # v1 blkio or v2 io
    unified: Path | None  # PSI files (cgroup2 only; on a hybrid host too)


def locate(host: HostRoot, cgroups: Mapping[str, str]) -> CgroupDirs:
    """The directories of a cgroup given by path per hierarchy, as Process.cgroups or Container.cgroup."""

    def at(controller: str) -> Located | None:
        mount = host.mount_for(controller)
        path = cgroups.get(mount.key) if mount is not None else None
        directory = mount.directory(path) if mount is not None and path is not None else None
        return Located.at(directory, mount) if mount is not None and directory is not None else None

    unified = host.unified
    unified_path = cgroups.get(unified.key) if unified is not None else None
    unified_dir = unified.directory(unified_path) if unified is not None and unified_path else None
    usage = at("cpuacct")
    # cgroup2's cpu.stat counts usage in every cgroup, controller enabled or not (cgroup-v2.rst, "Core
    # Interface Files" / cpu.stat). On a hybrid host a container may have a cgroup2 cgroup of its own
    # while its cpuacct cgroup is shared (the root): the more specific one tells its usage.
    if unified is not None and unified_dir is not None and unified_path is not None:
        shared_cpuacct = usage is None or _depth(usage.directory, usage.mount) < _depth(unified_dir, unified)
        if shared_cpuacct:
            usage = Located.at(unified_dir, unified)
    return CgroupDirs(
        usage, at("cpu"), at("cpuset"), at("memory"), at("pids"), at("blkio") or at("io"), unified_dir
    )


def _depth(directory: Path, mount: CgroupMount) -> int:
    return len(directory.relative_to(mount.mountpoint).parts)
