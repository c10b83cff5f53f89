"""A container cgroup's settings, for the exporter: its own CFS quota, period and weight, memory and pids
limits (cAdvisor's container_spec_*), and what binds it from above for the LXCFS view: the effective
cpuset, the smallest CFS quota and (v2) the smallest memory.max on the path to the root.

Settings change when someone writes them, the counters on every scrape: cAdvisor reads a container's
spec again every few seconds (manager/container.go, GetInfo), and so does this. Each settings file of a
directory is read once per `seconds`, however many containers lie below it; a directory that is a
container's own has its cpu.max (v1: cpu.cfs_quota_us and cpu.cfs_period_us) read once, for its spec and
for the quota that binds the containers below it alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar, cast

from cgscope.fs import cgspec
from cgscope.fs.cgroup_cpu import read_cpuset, read_quota
from cgscope.fs.cgroup_memory import read_memory_max
from cgscope.fs.files import child, read_optional
from cgscope.fs.parse import limit_value
from cgscope.model.cgdirs import CgroupDirs, Located

T = TypeVar("T")
N = TypeVar("N", int, float)


@dataclass(frozen=True, slots=True)
class Settings:
    cpu: cgspec.CpuSpec | None  # the cgroup's own CFS bandwidth and weight
    memory_limit: int | None  # its own memory limit, 0 for none
    threads_max: int | None  # its own pids.max, 0 for none
    cpus: tuple[int, ...]  # the effective cpuset; the host's online CPUs where no hierarchy has one
    quota: float | None  # the smallest CFS quota on the path to the root, in CPUs; None: none
    memory_bound: int | None  # v2: the smallest memory.max on the path; None: none, or v1 (memory.stat)


class KeptSettings:
    """Settings of the containers' cgroups, read again once they are `seconds` old. Call round() at the
    start of each reading, with the directories that are a container's own."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._read_at = -float("inf")
        self._files: dict[tuple[Path, str], object] = {}
        self._own: frozenset[Path] = frozenset()  # the containers' own cpu directories
        # each container's, by its CgroupDirs (kept, with the online CPUs, to tell it is the same)
        self._settings: dict[int, tuple[CgroupDirs, tuple[int, ...], Settings]] = {}

    def round(self, own_cpu_dirs: Iterable[Path]) -> None:
        now = time.monotonic()
        if now - self._read_at >= self.seconds:
            self._files.clear()
            self._settings.clear()
            self._read_at = now
        self._own = frozenset(own_cpu_dirs)

    def _kept(self, directory: Path, what: str, read: Callable[[Path], T]) -> T:
        key = (directory, what)
        if key not in self._files:
            self._files[key] = read(directory)
        return cast(T, self._files[key])

    def of(self, dirs: CgroupDirs, online: tuple[int, ...]) -> Settings:
        known = self._settings.get(id(dirs))
        if known is not None and known[0] is dirs and known[1] is online:
            return known[2]
        settings = self._read(dirs, online)
        self._settings[id(dirs)] = (dirs, online, settings)
        return settings

    def _read(self, dirs: CgroupDirs, online: tuple[int, ...]) -> Settings:
        cpu = self._spec(dirs.cpu.directory, dirs.cpu.version) if dirs.cpu is not None else None
        m, pids = dirs.memory, dirs.pids
        own_memory: int | None = None
        bound = None
        if m is not None and m.version == 2:
            bound = _smallest(self._kept(d, "memory.max", read_memory_max) for d in m.path_to_root)
            own_memory = self._kept(m.directory, "memory.max", read_memory_max) or 0
        elif m is not None:
            own_memory = self._kept(m.directory, "limit", partial(_limit, name="memory.limit_in_bytes"))
        return Settings(
            cpu,
            own_memory,
            self._kept(pids.directory, "pids.max", partial(_limit, name="pids.max")) if pids else None,
            self._cpuset(dirs.cpuset, online),
            _smallest(self._quota(d, dirs.cpu.version) for d in dirs.cpu.path_to_root) if dirs.cpu else None,
            bound,
        )

    def _spec(self, directory: Path, version: int) -> cgspec.CpuSpec | None:
        return self._kept(directory, "cpu spec", partial(cgspec.read_cpu_spec, version=version))

    def _quota(self, directory: Path, version: int) -> float | None:
        """A directory's CFS quota in CPUs: from its spec where it is a container's own."""
        if directory in self._own:
            spec = self._spec(directory, version)
            return None if spec is None or spec.quota_us is None else spec.quota_us / spec.period_us
        return self._kept(directory, "quota", partial(read_quota, version=version))

    def _cpuset(self, where: Located | None, online: tuple[int, ...]) -> tuple[int, ...]:
        """A v2 cgroup without +cpuset has its nearest ancestor's cpuset (as model/usage.Sampler reads)."""
        if where is not None:
            read = partial(read_cpuset, version=where.version)
            for d in where.path_to_root:
                cpus = self._kept(d, "cpuset", read)
                if cpus is not None:
                    return cpus
        return online


def _smallest(values: Iterable[N | None]) -> N | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _limit(directory: Path, name: str) -> int | None:
    """A limit file of the cgroup's own, 0 for no limit (as cAdvisor reports it); None where there is
    no such file."""
    path = child(directory, name)
    text = read_optional(path, whole=True)
    return None if text is None else limit_value(text, path) or 0
