"""Group processes into containers and tell their runtime, from cgroup paths and namespaces alone.

Precedence for each process: a runtime's own cgroup (runtimes.match_cgroup), then a cgroup that an OCI
runtime's state file claims (plain runc/crun), then a non-host pid or mount namespace (a "bare"
container such as `unshare --pid --fork --mount-proc`). Everything else is the host.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs import cgroupfs, runtime_state
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount
from cgscope.fs.procfs import NS_TYPES
from cgscope.model.collect import Collector, host_namespaces
from cgscope.model.process import Process
from cgscope.model.runtimes import Pod, RuntimeMatch, match_cgroup

_match = lru_cache(maxsize=4096)(match_cgroup)


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    runtime: str
    init_pid: int
    pids: tuple[int, ...]
    cgroup: Mapping[str, str]  # hierarchy key -> the container's own cgroup path
    namespaces: Mapping[str, int | None]
    shared_with_host: tuple[str, ...]  # namespace types whose inode equals the host's
    pod: Pod | None = None


@dataclass(frozen=True)
class Inventory:
    """Every process placed: in exactly one container, or on the host."""

    containers: tuple[Container, ...]
    host_pids: tuple[int, ...]
    container_of: Mapping[int, Container]
    processes: Mapping[int, Process]  # those read in full: every container member, at least
    host_namespaces: Mapping[str, int | None]
    uninspected: frozenset[int] = frozenset()  # host pids whose namespaces we may not read (EACCES)


def group_containers(
    host: HostRoot, collector: Collector, known: Mapping[int, Process] | None = None
) -> Inventory:
    """Find every container. The cost grows with cgroups, not processes: runtime cgroups are found by
    walking the systemd hierarchy, and host processes cost one or two namespace readlinks each. Only
    members of containers are read in full — unless `known` already holds a full snapshot — and a
    collector kept across refreshes recalls members as last read, reading each container's init afresh."""
    primary = host.primary
    found: dict[int, Process] = dict(known or {})
    free = set(collector.pids()) if known is None else set(known)

    def read(pids: Iterable[int]) -> dict[int, Process]:
        pids = list(pids)
        missing = [pid for pid in pids if pid not in found]
        found.update(collector.recall(missing))
        return {pid: found[pid] for pid in pids if pid in found}

    def current(p: Process) -> Process:
        """A container's init as it is now: its cgroup is the container's, and a move shows at once."""
        if known is None:
            with suppress(ProcessGone, AccessDenied):
                p = found[p.pid] = collector.process(p.pid)
        return p

    host_ns = host_namespaces(
        read([1, 2] + ([collector.reader] if collector.reader else [])), collector.reader
    )
    namer = _Namer(host)
    containers: list[Container] = []
    for match, pids in _runtime_cgroups(host):
        members = read(pid for pid in pids if pid in free)
        if members:
            free -= members.keys()
            name = namer(match.runtime, match.id)
            containers.append(
                _container(match.id, match.runtime, name, members, host_ns, fresh=current, match=match)
            )
    for state in runtime_state.oci_states(host):
        init = read([state.init_pid]).get(state.init_pid)
        if (
            init is None
            or state.init_pid not in free
            or state.init_start_ticks not in (None, init.start_ticks)
        ):
            # Gone (its pid may be someone else's now), or already claimed by a runtime that names
            # its cgroups (Docker, containerd and Podman run their containers with runc or crun).
            continue
        claimed = _claimed_dirs(host, state)
        pids = {pid for d in claimed.values() for pid in cgroupfs.subtree_procs(d)} & free
        if not claimed:  # no cgroup of its own (rootless): its pid namespace is the container
            pids = _same_ns(collector, free, "pid", init.namespaces.get("pid"))
        members = read(pids | {state.init_pid})
        free -= members.keys()
        cgroup = {key: _cgroup_path(host, key, d) for key, d in claimed.items()}
        containers.append(
            _container(
                state.id, state.runtime, state.id, members, host_ns, fresh=current, cgroup=cgroup or None
            )
        )
    uninspected: set[int] = set()
    bare = _bare(
        collector,
        free,
        host_ns,
        read,
        fresh=current,
        primary=primary.key if primary else None,
        uninspected=uninspected,
    )
    containers = _adopt(containers, bare)
    containers.sort(key=lambda c: (c.runtime, c.name, c.id))
    container_of = {pid: c for c in containers for pid in c.pids}
    host_pids = tuple(sorted(free - container_of.keys()))
    return Inventory(tuple(containers), host_pids, container_of, found, host_ns, frozenset(uninspected))


def _runtime_cgroups(host: HostRoot) -> list[tuple[RuntimeMatch, set[int]]]:
    """Each container cgroup of the systemd hierarchies, with the pids of its subtree.

    The primary hierarchy names every runtime's cgroups but one case: on a hybrid host, runc before
    1.1 joins only the v1 hierarchies, its containers staying in the shim's cgroup2 cgroup. So there
    name=systemd is walked too, and a container found in both is one.
    """
    found: dict[tuple[str, str], tuple[RuntimeMatch, set[int]]] = {}
    for mount in dict.fromkeys(m for m in (host.primary, host.mount("name=systemd")) if m is not None):
        for match, pids in _mount_runtime_cgroups(mount):
            found.setdefault((match.runtime, match.id), (match, set()))[1].update(pids)
    return list(found.values())


def _mount_runtime_cgroups(mount: CgroupMount) -> Iterator[tuple[RuntimeMatch, set[int]]]:
    """Each container cgroup in `mount` with the pids of its subtree, outermost container first.

    A descendant that is not the container's (nspawn's "supervisor" beside its "payload") is left out.
    """
    for directory in cgroupfs.walk(mount.mountpoint):
        path = mount.cgroup_path(directory)
        match = _match(path)
        if match is not None and match.depth == len([s for s in path.split("/") if s]):
            yield match, cgroupfs.subtree_procs(directory, partial(_same, mount, match))


def _same(mount: CgroupMount, match: RuntimeMatch, directory: Path) -> bool:
    m = _match(mount.cgroup_path(directory))
    return m is not None and m.id == match.id


def _claimed_dirs(host: HostRoot, state: runtime_state.OciState) -> dict[str, Path]:
    """The cgroup directories an OCI state file names, by hierarchy, the root cgroups left out."""
    claimed = {}
    for directory in state.cgroup_dirs:
        for mount in host.mounts:
            if mount.mountpoint in directory.parents:
                claimed[mount.key] = directory
    if not claimed and state.cgroup_path and state.cgroup_path.startswith("/"):
        for mount in host.mounts:
            found = mount.directory(state.cgroup_path)
            if found is not None and found != mount.mountpoint and found.is_dir():
                claimed[mount.key] = found
    return claimed


def _cgroup_path(host: HostRoot, key: str, directory: Path) -> str:
    mount = host.mount(key)
    return mount.cgroup_path(directory) if mount is not None else str(directory)


def _same_ns(collector: Collector, pids: Iterable[int], kind: str, inode: int | None) -> set[int]:
    if inode is None:
        return set()
    out = set()
    for pid in pids:
        with suppress(ProcessGone, AccessDenied):
            if collector.namespaces(pid, (kind,)).get(kind) == inode:
                out.add(pid)
    return out


def _container(
    ident: str,
    runtime: str,
    name: str,
    members: Mapping[int, Process],
    host_ns: Mapping[str, int | None],
    *,
    fresh: Callable[[Process], Process],
    match: RuntimeMatch | None = None,
    cgroup: Mapping[str, str] | None = None,
) -> Container:
    init = fresh(_init_of(members.values()))
    if cgroup is None:
        cgroup = {key: _own_cgroup(path, match) for key, path in init.cgroups.items()}
    shared = tuple(
        t for t in NS_TYPES if init.namespaces.get(t) is not None and init.namespaces.get(t) == host_ns.get(t)
    )
    return Container(
        id=ident,
        name=name,
        runtime=runtime,
        init_pid=init.pid,
        pids=tuple(sorted(members)),
        cgroup=dict(cgroup),
        namespaces=dict(init.namespaces),
        shared_with_host=shared,
        pod=match.pod if match else None,
    )


def _own_cgroup(path: str, match: RuntimeMatch | None) -> str:
    """The container's own cgroup on `path`: cut where the runtime's segment ends (a container may make
    cgroups of its own below it)."""
    m = _match(path) if match is not None else None
    if m is None or match is None or m.id != match.id:
        return path
    return "/" + "/".join([s for s in path.split("/") if s][: m.depth])


def _init_of(group: Iterable[Process]) -> Process:
    """The container's first process: pid 1 of its pid namespace, else the oldest whose parent is outside."""
    group = list(group)
    pids = {p.pid for p in group}
    ones = [p for p in group if p.nspid == 1 and p.pid != 1]
    roots = ones or [p for p in group if p.ppid not in pids] or group
    return min(roots, key=lambda p: (p.start_ticks, p.pid))


def _bare(
    collector: Collector,
    free: set[int],
    host_ns: Mapping[str, int | None],
    read: Callable[[Iterable[int]], dict[int, Process]],
    *,
    fresh: Callable[[Process], Process],
    primary: str | None,
    uninspected: set[int],
) -> list[Container]:
    """Processes in a non-host pid namespace, or a non-host mount namespace, with no runtime cgroup.

    A process that shares such a container's mount namespace but not its pid namespace (the
    `unshare --fork` parent that waits for the container's init) belongs to it too.
    """
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    by_mnt: list[tuple[int, int]] = []
    for pid, ns in sorted(collector.placements(free).items()):
        pid_ns, mnt_ns = ns["pid"], ns["mnt"]
        if pid_ns is None and mnt_ns is None:
            uninspected.add(pid)
        if pid_ns is not None and host_ns.get("pid") not in (None, pid_ns):
            groups[("pid", pid_ns)].append(pid)
        elif mnt_ns is not None and host_ns.get("mnt") not in (None, mnt_ns):
            by_mnt.append((mnt_ns, pid))
    sandboxed = read(pid for _, pid in by_mnt)
    members = {key: read(pids) for key, pids in groups.items()}
    mnt_owner = {_init_of(m.values()).namespaces.get("mnt"): key for key, m in members.items() if m}
    for mnt_ns, pid in by_mnt:
        p = sandboxed.get(pid)
        if p is None or p.kernel_thread or _sandboxed_service(p, primary):
            continue  # kdevtmpfs has a mount namespace of its own; so do sandboxed services
        key = mnt_owner.get(mnt_ns, ("mnt", mnt_ns))
        members.setdefault(key, {})[pid] = p
    containers = []
    for (kind, inode), group in members.items():
        if group:
            init = _init_of(group.values())
            containers.append(_container(f"{kind}-{inode}", "bare", init.comm, group, host_ns, fresh=fresh))
    return containers


def _adopt(found: list[Container], bare: list[Container]) -> list[Container]:
    """Zombies are listed in no cgroup.procs, so _bare groups those of a found container by its pid
    namespace: such a group joins that container instead of standing as a "bare" one."""
    owner = {c.namespaces.get("pid"): i for i, c in reversed(list(enumerate(found)))}
    out = list(found)
    for b in bare:
        i = owner.get(b.namespaces.get("pid")) if b.id.startswith("pid-") else None
        if i is None:
            out.append(b)
        else:
            out[i] = replace(out[i], pids=tuple(sorted({*out[i].pids, *b.pids})))
    return out


def _sandboxed_service(p: Process, primary: str | None) -> bool:
    """systemd gives services a mount namespace of their own (PrivateTmp=, ProtectSystem=, ...):
    a service unit in one is sandboxed, not a container."""
    return primary is not None and p.cgroups.get(primary, "").endswith(".service")


class _Namer:
    """Container names from the runtimes' state files, else a short id."""

    def __init__(self, host: HostRoot) -> None:
        self.host = host
        self._podman: dict[str, str] | None = None

    def __call__(self, runtime: str, ident: str) -> str:
        lookup: Callable[[], str | None] = {
            "docker": lambda: runtime_state.docker_name(self.host, ident),
            "podman": lambda: self.podman().get(ident),
            "containerd": lambda: runtime_state.kubernetes_name(self.host, ident),
            "cri-o": lambda: runtime_state.kubernetes_name(self.host, ident),
            "kubernetes": lambda: runtime_state.kubernetes_name(self.host, ident),
        }.get(runtime, lambda: ident)
        return lookup() or ident[:12]

    def podman(self) -> dict[str, str]:
        if self._podman is None:
            self._podman = runtime_state.podman_names(self.host)
        return self._podman
