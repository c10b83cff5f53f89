"""Group processes into containers and tell their runtime, from cgroup paths and namespaces alone.

Precedence for each process: a runtime's own cgroup (runtimes.match_cgroup), then a cgroup that an OCI
runtime's state file claims (plain runc/crun), then a non-host pid or mount namespace (a "bare"
container such as `unshare --pid --fork --mount-proc`). Everything else is the host.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from cgscope.errors import NotFound
from cgscope.fs import runtime_state
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.procfs import NS_TYPES
from cgscope.model.collect import Snapshot
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

    def find(self, ref: str) -> Container:
        """A container named by name, id prefix, or any member pid."""
        if ref.isdigit() and int(ref) in self.container_of:
            return self.container_of[int(ref)]
        exact = [c for c in self.containers if ref in (c.name, c.id)]
        found = exact or [c for c in self.containers if c.id.startswith(ref)]
        if len(found) == 1:
            return found[0]
        if not found:
            raise NotFound(
                f"no container named {ref!r}: give a name, an id prefix or a member pid "
                "(see 'cgscope containers')"
            )
        ids = ", ".join(c.id[:12] for c in found)
        raise NotFound(f"{ref!r} matches {len(found)} containers ({ids}): give more of the id")


def group_containers(snapshot: Snapshot, host: HostRoot) -> Inventory:
    procs = snapshot.processes
    order = _hierarchy_order(host)
    members: dict[tuple[str, str], list[Process]] = defaultdict(list)
    matches: dict[tuple[str, str], RuntimeMatch] = {}
    unassigned: list[Process] = []
    for p in procs.values():
        m = None if p.kernel_thread else _first_match(p, order)
        if m is None:
            unassigned.append(p)
        else:
            members[(m.runtime, m.id)].append(p)
            matches[(m.runtime, m.id)] = m
    namer = _Namer(host)
    containers = [
        _container(key[1], key[0], namer(*key), group, snapshot, match=matches[key])
        for key, group in members.items()
    ]
    unassigned, oci = _claim_oci(host, snapshot, unassigned)
    containers += oci
    unassigned, bare = _bare(snapshot, unassigned, order[0] if order else None)
    containers += bare
    containers.sort(key=lambda c: (c.runtime, c.name, c.id))
    container_of = {pid: c for c in containers for pid in c.pids}
    return Inventory(tuple(containers), tuple(sorted(p.pid for p in unassigned)), container_of)


def _hierarchy_order(host: HostRoot) -> list[str]:
    """Hierarchy keys, systemd's first: it names every process's place, even where v1 controllers
    are shared."""
    primary = host.primary
    keys = [m.key for m in host.mounts]
    if primary is not None:
        keys.remove(primary.key)
        keys.insert(0, primary.key)
    return keys


def _first_match(p: Process, order: Sequence[str]) -> RuntimeMatch | None:
    for key in order:
        path = p.cgroups.get(key)
        if path and path != "/" and (m := _match(path)) is not None:
            return m
    return None


def _container(
    ident: str,
    runtime: str,
    name: str,
    group: list[Process],
    snapshot: Snapshot,
    *,
    match: RuntimeMatch | None = None,
) -> Container:
    init = _init_of(group)
    cgroup = {}
    for key, path in init.cgroups.items():
        m = _match(path) if match is not None else None
        # The container's own cgroup: the path cut where the runtime's segment ends (a container may
        # make cgroups of its own below it).
        own = m is not None and match is not None and m.id == match.id
        cgroup[key] = "/" + "/".join([s for s in path.split("/") if s][: m.depth]) if own and m else path
    host_ns = snapshot.host_namespaces
    shared = tuple(
        t for t in NS_TYPES if init.namespaces.get(t) is not None and init.namespaces.get(t) == host_ns.get(t)
    )
    return Container(
        id=ident,
        name=name,
        runtime=runtime,
        init_pid=init.pid,
        pids=tuple(sorted(p.pid for p in group)),
        cgroup=cgroup,
        namespaces=dict(init.namespaces),
        shared_with_host=shared,
        pod=match.pod if match else None,
    )


def _init_of(group: Iterable[Process]) -> Process:
    """The container's first process: pid 1 of its pid namespace, else the oldest whose parent is outside."""
    group = list(group)
    pids = {p.pid for p in group}
    ones = [p for p in group if p.nspid == 1 and p.pid != 1]
    roots = ones or [p for p in group if p.ppid not in pids] or group
    return min(roots, key=lambda p: (p.start_ticks, p.pid))


def _claim_oci(
    host: HostRoot, snapshot: Snapshot, unassigned: list[Process]
) -> tuple[list[Process], list[Container]]:
    """Containers of plain runc/crun, found by the cgroups their state files claim."""
    free = {p.pid: p for p in unassigned}
    containers = []
    for state in runtime_state.oci_states(host):
        init = free.get(state.init_pid)
        if init is None or (
            state.init_start_ticks is not None and init.start_ticks != state.init_start_ticks
        ):
            # Gone (its pid may be someone else's now), or already claimed by a runtime that names
            # its cgroups (Docker, containerd and Podman run their containers with runc or crun).
            continue
        claimed = _claimed_paths(host, state, init)
        if claimed:
            inside = [p for p in free.values() if _under(p, claimed)]
        else:  # no cgroup of its own (rootless): its pid namespace is the container
            pid_ns = init.namespaces.get("pid")
            inside = [p for p in free.values() if pid_ns is not None and p.namespaces.get("pid") == pid_ns]
        if init not in inside:
            inside.append(init)
        for p in inside:
            del free[p.pid]
        c = _container(state.id, state.runtime, state.id, inside, snapshot)
        containers.append(_with_cgroup(c, claimed) if claimed else c)
    return list(free.values()), containers


def _claimed_paths(host: HostRoot, state: runtime_state.OciState, init: Process) -> dict[str, str]:
    claimed = {}
    for directory in state.cgroup_dirs:
        for mount in host.mounts:
            if directory == mount.mountpoint or mount.mountpoint in directory.parents:
                claimed[mount.key] = mount.cgroup_path(directory)
    if not claimed and state.cgroup_path and state.cgroup_path.startswith("/"):
        claimed = {k: path for k, path in init.cgroups.items() if path == state.cgroup_path}
    return {k: v for k, v in claimed.items() if v != "/"}


def _under(p: Process, claimed: Mapping[str, str]) -> bool:
    for key, top in claimed.items():
        path = p.cgroups.get(key)
        if path is not None and (path == top or path.startswith(top + "/")):
            return True
    return False


def _with_cgroup(c: Container, claimed: Mapping[str, str]) -> Container:
    return Container(
        c.id, c.name, c.runtime, c.init_pid, c.pids, dict(claimed), c.namespaces, c.shared_with_host, c.pod
    )


def _bare(
    snapshot: Snapshot, unassigned: list[Process], primary: str | None
) -> tuple[list[Process], list[Container]]:
    """Processes in a non-host pid namespace, or a non-host mount namespace, with no runtime cgroup.

    A process that shares such a container's mount namespace but not its pid namespace (the
    `unshare --fork` parent that waits for the container's init) belongs to it too.
    """
    host_ns = snapshot.host_namespaces
    groups: dict[tuple[str, int], list[Process]] = defaultdict(list)
    by_mnt: list[tuple[int, Process]] = []
    rest = []
    for p in unassigned:
        pid_ns, mnt_ns = p.namespaces.get("pid"), p.namespaces.get("mnt")
        if p.kernel_thread:
            rest.append(p)
        elif pid_ns is not None and host_ns.get("pid") not in (None, pid_ns):
            groups[("pid", pid_ns)].append(p)
        elif (
            mnt_ns is not None
            and host_ns.get("mnt") not in (None, mnt_ns)
            and not _sandboxed_service(p, primary)
        ):
            by_mnt.append((mnt_ns, p))
        else:
            rest.append(p)
    mnt_owner = {_init_of(g).namespaces.get("mnt"): key for key, g in groups.items()}
    for mnt_ns, p in by_mnt:
        groups[mnt_owner.get(mnt_ns, ("mnt", mnt_ns))].append(p)
    containers = []
    for (kind, inode), group in groups.items():
        init = _init_of(group)
        containers.append(_container(f"{kind}-{inode}", "bare", init.comm, group, snapshot))
    return rest, containers


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
