"""Group processes into containers and tell their runtime, from cgroup paths, state files and namespaces.

Precedence for each process: a runtime's own cgroup (runtimes.match_cgroup), then a cgroup that an OCI
runtime's state file claims (plain runc/crun, and Docker's or containerd's containers in a cgroup of the
user's choosing), then a non-host pid or mount namespace (a "bare" container such as
`unshare --pid --fork --mount-proc`). Everything else is the host.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs import cgroupfs
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.ocistate import OciState
from cgscope.fs.procfs import NS_TYPES
from cgscope.model.collect import Collector, host_namespaces
from cgscope.model.process import Process
from cgscope.model.runtime_cgroups import cached_match, runtime_cgroups
from cgscope.model.runtimes import DAEMONS, KeptStates, Pod, RuntimeMatch, RuntimeStates

_Key = tuple[str, int]  # a bare container's namespace: ("pid" or "mnt", inode)


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
    image: str | None = None  # the image it was made from, where its runtime's state records one


@dataclass(frozen=True)
class Inventory:
    """Every process placed: in exactly one container, or on the host."""

    containers: tuple[Container, ...]
    host_pids: tuple[int, ...]
    container_of: Mapping[int, Container]
    # Those read: every container member at least, in full but where group_containers() was told
    # placed_only (then only the inits are).
    processes: Mapping[int, Process]
    host_namespaces: Mapping[str, int | None]
    uninspected: frozenset[int] = frozenset()  # host pids whose namespaces we may not read (EACCES)


def group_containers(
    host: HostRoot,
    collector: Collector,
    known: Mapping[int, Process] | None = None,
    walked: Sequence[Path] | None = None,
    kept: KeptStates | None = None,
    *,
    placed_only: bool = False,
    listed: Collection[int] | None = None,
    runtime: Sequence[tuple[RuntimeMatch, set[int]]] | None = None,
) -> Inventory:
    """Find every container. The cost grows with cgroups, not processes: runtime cgroups are found by
    walking the systemd hierarchy (`walked`: the primary hierarchy as the caller walked it this
    refresh), and host processes cost one or two namespace readlinks each. Only members of containers
    are read in full — unless `known` already holds a full snapshot — and a collector kept across
    refreshes recalls members as last read, reading each container's init afresh; `kept`, the runtimes'
    state files it parsed before. `placed_only`: members but the inits are read only as far as placing
    them goes (Collector.placed(): what `containers` prints of them), a third of a full read. `listed`,
    `runtime`: the collector's pids() and runtime_cgroups() as the caller called them this refresh."""
    scan = _Scan(host, collector, known, walked, placed_only=placed_only, listed=listed)
    runtime = runtime if runtime is not None else runtime_cgroups(host, walked)
    claimed = [(match, members) for match, pids in runtime if (members := scan.claim(pids))]
    # A runtime's daemon runs outside its containers' cgroups: the rest are not asked their comm.
    daemons = collector.commands(DAEMONS, scan.free)
    states = kept.new_round(daemons) if kept is not None else RuntimeStates(host, daemons)
    found = [*scan.runtime_containers(claimed, states), *scan.oci_containers(states)]
    containers = _adopt(found, scan.bare())
    containers.sort(key=lambda c: (c.runtime, c.name, c.id))
    container_of = {pid: c for c in containers for pid in c.pids}
    host_pids = tuple(sorted(scan.free - container_of.keys()))
    return Inventory(
        tuple(containers), host_pids, container_of, scan.found, scan.host_ns, frozenset(scan.uninspected)
    )


class _Scan:
    """One grouping: the processes read so far, those no container has claimed yet (`free`)."""

    def __init__(
        self,
        host: HostRoot,
        collector: Collector,
        known: Mapping[int, Process] | None,
        walked: Sequence[Path] | None,
        *,
        placed_only: bool,
        listed: Collection[int] | None,
    ) -> None:
        self.host, self.collector, self.known, self.walked = host, collector, known, walked
        self.placed_only = placed_only
        self.found: dict[int, Process] = dict(known or {})
        self.placed: set[int] = set()  # those of `found` read only as placed()
        self.fresh: set[int] = set()  # the inits current() read this grouping
        self.free = set(known if known is not None else listed if listed is not None else collector.pids())
        self.uninspected: set[int] = set()
        reader = [collector.reader] if collector.reader else []
        self.host_ns = host_namespaces(self.read([1, 2, *reader], full=True), collector.reader)

    def read(self, pids: Iterable[int], *, full: bool = False) -> dict[int, Process]:
        """These processes, read once a grouping: in full, or placed() only where members are
        (`placed_only`) unless `full`."""
        pids = list(pids)
        if self.placed_only and not full:
            read = self.collector.processes([pid for pid in pids if pid not in self.found], full=False)
            self.placed |= read.keys()
        else:
            read = self.collector.recall([pid for pid in pids if pid not in self.found or pid in self.placed])
            self.placed -= read.keys()
        self.found.update(read)
        return {pid: self.found[pid] for pid in pids if pid in self.found}

    def current(self, p: Process) -> Process:
        """A container's init with its cgroups as they are now (they are the container's, and a move shows
        at once), read in full where it was placed() only; once a grouping."""
        if self.known is not None or p.pid in self.fresh:
            return self.found.get(p.pid, p)
        self.fresh.add(p.pid)
        with suppress(ProcessGone, AccessDenied):
            if p.pid not in self.placed:
                p = self.found[p.pid] = self.collector.moved(p)
            elif (full := self.collector.process(p.pid)).key == p.key:  # not a reused pid
                p = self.found[p.pid] = full
                self.placed.discard(p.pid)
        return p

    def claim(self, pids: Iterable[int]) -> dict[int, Process]:
        members = self.read(pid for pid in pids if pid in self.free)
        self.free -= members.keys()
        return members

    def container(
        self,
        ident: str,
        runtime: str,
        name: str,
        members: Mapping[int, Process],
        *,
        match: RuntimeMatch | None = None,
        cgroup: Mapping[str, str] | None = None,
        image: str | None = None,
    ) -> Container:
        return _container(
            ident, runtime, name, members, self.host_ns, fresh=self.current, match=match, cgroup=cgroup,
            image=image,
        )  # fmt: skip

    def runtime_containers(
        self, claimed: Iterable[tuple[RuntimeMatch, Mapping[int, Process]]], states: RuntimeStates
    ) -> Iterator[Container]:
        """Containers in the cgroups runtimes name after them, with the members claimed there."""
        for match, members in claimed:
            runtime, name, pod = states.identify(match.runtime, match.id, match.pod)
            image = states.image(runtime, match.id)
            yield self.container(match.id, runtime, name, members, match=replace(match, pod=pod), image=image)

    def oci_containers(self, states: RuntimeStates) -> Iterator[Container]:
        """Containers an OCI runtime's state file records, in the cgroups it claims."""
        for state in states.oci_states():
            init = self.read([state.init_pid]).get(state.init_pid)
            if (
                init is None
                or state.init_pid not in self.free
                or state.init_start_ticks not in (None, init.start_ticks)
            ):
                # Gone (its pid may be someone else's now), or already claimed by a runtime that names
                # its cgroups (Docker, containerd and Podman run their containers with runc or crun).
                continue
            members = self.claim(self._state_members(state, init) | {state.init_pid})
            claimed = _claimed_dirs(self.host, state).items()
            cgroup = {key: _cgroup_path(self.host, key, d) for key, d in claimed}
            runtime, name, _ = states.identify(state.runtime, state.id, None)
            image = states.image(runtime, state.id)
            yield self.container(state.id, runtime, name, members, cgroup=cgroup or None, image=image)

    def _state_members(self, state: OciState, init: Process) -> set[int]:
        claimed = _claimed_dirs(self.host, state)
        if not claimed:  # no cgroup of its own (rootless): its pid namespace is the container
            return _same_ns(self.collector, self.free, "pid", init.namespaces.get("pid"))
        return {pid for d in claimed.values() for pid in cgroupfs.subtree_procs(d)} & self.free

    def bare(self) -> list[tuple[_Key, Container]]:
        """Processes in a non-host pid namespace, or a non-host mount namespace, with no runtime cgroup,
        by the namespace that makes each group (see _bare_groups)."""
        out = []
        for key, group in _bare_groups(self, self.host_ns).items():
            if group:
                name = self.bare_name(self.current(_init_of(group.values())), group)
                out.append((key, self.container(f"{key[0]}-{key[1]}", "bare", name, group)))
        return out

    def bare_name(self, init: Process, group: Mapping[int, Process]) -> str:
        """Its UTS hostname when it has a UTS namespace of its own (and a hostname other than the host's),
        else its cgroup's leaf name when that cgroup holds only its processes, else its init's command."""
        uts, host_uts = init.namespaces.get("uts"), self.host_ns.get("uts")
        if uts is not None and host_uts is not None and uts != host_uts:
            hostname = self.collector.hostname(init.pid, uts)
            # One never renamed still holds the host's name: that tells nothing apart.
            if hostname and hostname != self.collector.hostname(self.collector.reader or 1, host_uts):
                return hostname
        primary = self.host.primary
        path = init.cgroups.get(primary.key, "/") if primary is not None else "/"
        directory = primary.directory(path) if primary is not None and path.strip("/") else None
        if directory is not None:
            with suppress(ProcessGone, AccessDenied):
                if set(cgroupfs.read_procs(directory)) <= group.keys():
                    return path.rstrip("/").rsplit("/", 1)[-1]
        return init.comm


def _claimed_dirs(host: HostRoot, state: OciState) -> dict[str, Path]:
    """The cgroup directories an OCI state names, by hierarchy."""
    return {m.key: d for d in state.cgroup_dirs for m in host.mounts if m.mountpoint in d.parents}


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
    image: str | None = None,
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
        image=image,
    )


def _own_cgroup(path: str, match: RuntimeMatch | None) -> str:
    """The container's own cgroup on `path`: cut where the runtime's segment ends (a container may make
    cgroups of its own below it)."""
    m = cached_match(path) if match is not None else None
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


def _bare_groups(scan: _Scan, host_ns: Mapping[str, int | None]) -> dict[_Key, dict[int, Process]]:
    """The free processes in a non-host pid namespace, by that namespace; then those in a non-host mount
    namespace only: with the pid-namespace group whose init shares it (the `unshare --fork` parent that
    waits for the container's init, an nsenter that entered it), else by mount namespace."""
    groups: dict[_Key, list[int]] = defaultdict(list)
    by_mnt: list[tuple[int, int]] = []
    primary = scan.host.primary.key if scan.host.primary else None
    for pid, ns in sorted(scan.collector.placements(scan.free).items()):
        pid_ns, mnt_ns = ns["pid"], ns["mnt"]
        if pid_ns is None and mnt_ns is None:
            scan.uninspected.add(pid)
        if pid_ns is not None and host_ns.get("pid") not in (None, pid_ns):
            groups[("pid", pid_ns)].append(pid)
        elif mnt_ns is not None and host_ns.get("mnt") not in (None, mnt_ns):
            by_mnt.append((mnt_ns, pid))
    sandboxed = scan.read((pid for _, pid in by_mnt), full=True)
    members = {key: scan.read(pids) for key, pids in groups.items()}
    mnt_owner = {
        scan.current(_init_of(m.values())).namespaces.get("mnt"): key for key, m in members.items() if m
    }
    for mnt_ns, pid in by_mnt:
        p = sandboxed.get(pid)
        if p is None or p.kernel_thread or _sandboxed_service(p, primary):
            continue  # kdevtmpfs has a mount namespace of its own; so do sandboxed services
        members.setdefault(mnt_owner.get(mnt_ns, ("mnt", mnt_ns)), {})[pid] = p
    return members


def _adopt(found: list[Container], bare: list[tuple[_Key, Container]]) -> list[Container]:
    """A bare group in the namespace of a found container is that container's: its zombies (listed in no
    cgroup.procs) and what entered its namespaces from outside its cgroup (nsenter, an exec that did not
    join its cgroup). The group is keyed by the namespace that made it, not by its first process, which
    may be a host-pid-namespace nsenter that joined only the container's mount namespace."""
    owner: dict[_Key, int] = {}
    for i in reversed(range(len(found))):
        for kind in ("pid", "mnt"):
            inode = found[i].namespaces.get(kind)
            if inode is not None and kind not in found[i].shared_with_host:
                owner[(kind, inode)] = i
    out = list(found)
    for key, b in bare:
        at = owner.get(key)
        if at is None:
            out.append(b)
        else:
            out[at] = replace(out[at], pids=tuple(sorted({*out[at].pids, *b.pids})))
    return out


def _sandboxed_service(p: Process, primary: str | None) -> bool:
    """systemd gives services a mount namespace of their own (PrivateTmp=, ProtectSystem=, ...):
    a service unit in one is sandboxed, not a container."""
    return primary is not None and p.cgroups.get(primary, "").endswith(".service")


def shares_cgroup(host: HostRoot, c: Container) -> bool:
    """Whether the container's cgroup (in the primary hierarchy) holds more than the container: the
    root cgroup, or a bare container's cgroup that other processes live in too. Its usage is then its
    processes' (model/member_usage.py), its source "processes"."""
    primary = host.primary
    path = c.cgroup.get(primary.key) if primary is not None else None
    directory = primary.directory(path) if primary is not None and path is not None else None
    if primary is None or directory is None or directory == primary.mountpoint:
        return True
    return c.runtime == "bare" and not cgroupfs.subtree_procs(directory) <= set(c.pids)
