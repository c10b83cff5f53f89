"""The cgroups runtimes name after their containers, found by walking the hierarchies that hold them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import suppress
from functools import lru_cache
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs import cgroupfs
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount
from cgscope.model.runtimes import RuntimeMatch, match_cgroup

cached_match = lru_cache(maxsize=4096)(match_cgroup)


def runtime_cgroups(host: HostRoot, walked: Sequence[Path] | None) -> list[tuple[RuntimeMatch, set[int]]]:
    """Each container cgroup of the systemd hierarchies, with the pids of its subtree.

    The primary hierarchy names every runtime's cgroups but one case: on a hybrid host, runc before
    1.1 joins only the v1 hierarchies, its containers staying in the shim's cgroup2 cgroup. So there
    name=systemd is walked too, and a container found in both is one: its processes are read where
    the primary hierarchy holds none.
    """
    found: dict[tuple[str, str], tuple[RuntimeMatch, set[int]]] = {}
    for mount in dict.fromkeys(m for m in (host.primary, host.mount("name=systemd")) if m is not None):
        dirs = (
            walked if walked is not None and mount == host.primary else list(cgroupfs.walk(mount.mountpoint))
        )
        for match, subtree in _mount_runtime_cgroups(mount, dirs):
            entry = found.setdefault((match.runtime, match.id), (match, set()))
            if not entry[1]:
                entry[1].update(pid for d in subtree for pid in _procs(d))
    return list(found.values())


def _procs(directory: Path) -> list[int]:
    with suppress(ProcessGone, AccessDenied):
        return cgroupfs.read_procs(directory)
    return []


def _mount_runtime_cgroups(
    mount: CgroupMount, dirs: Sequence[Path]
) -> Iterator[tuple[RuntimeMatch, list[Path]]]:
    """Each container cgroup among `dirs` (a walk of `mount`: parents first, each subtree in one run)
    with the directories of its subtree, outermost container first.

    A descendant that is not the container's (nspawn's "supervisor" beside its "payload") is left out.
    """
    for i, directory in enumerate(dirs):
        path = mount.cgroup_path(directory)
        match = cached_match(path)
        if match is not None and match.depth == len([s for s in path.split("/") if s]):
            inside, end = f"{directory}/", i + 1
            while end < len(dirs) and str(dirs[end]).startswith(inside):
                end += 1
            yield match, [directory, *(d for d in dirs[i + 1 : end] if _same(mount, match, d))]


def _same(mount: CgroupMount, match: RuntimeMatch, directory: Path) -> bool:
    m = cached_match(mount.cgroup_path(directory))
    return m is not None and m.id == match.id
