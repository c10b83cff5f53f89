"""The container runtimes cgscope knows, one entry each: how it names the cgroup it makes per container
(told from the path alone), and the reader of its state files (fs/runtime_state.py: the containers its
OCI runtime records, their names, which Kubernetes pod containers it runs).

Cgroup names are those of the runtimes' sources and of systemd's unit naming (systemd.unit(5): "-" is
escaped as "\\x2d"). Adding a runtime is an entry here and, if it keeps state files, a reader there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

from cgscope.fs import runtime_state as state
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.ocistate import OciState
from cgscope.fs.statefiles import StateFiles

_HEX = r"[0-9a-f]{12,64}"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_UID = r"[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}"
KUBERNETES = "kubernetes"  # a pod's container whose CRI runtime is not known


def _not_nspawn(name: str, below: list[str]) -> bool:
    """machine-*.scope also holds libvirt's VMs (qemu-N-name) and podman's pods are slices, not scopes;
    with cgroup v2, nspawn's own process lives in the scope's "supervisor" child, its payload in "payload"."""
    return name.startswith("qemu-") or name.startswith("qemu\\x2d") or below == ["supervisor"]


@dataclass(frozen=True)
class Runtime:
    name: str
    segments: tuple[str, ...] = ()  # one cgroup-path segment that is a container's own cgroup; group "id"
    parents: tuple[tuple[str, str], ...] = ()  # a segment that holds one cgroup per container, and that child
    state: type[state.RuntimeState] = state.RuntimeState
    cri: bool = False  # a Kubernetes CRI: a pod's container whose id its state knows is its own
    unit_names: bool = False  # its ids are systemd unit names, escaped
    not_own: Callable[[str, list[str]], bool] | None = None  # (id, the segment below) -> not a container
    pauses: bool = False  # it records a pause in its own state (docker inspect: Paused): freeze warns

    @cached_property
    def patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p) for p in self.segments)

    @cached_property
    def parent_patterns(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        return tuple((parent, re.compile(child)) for parent, child in self.parents)


RUNTIMES = (
    Runtime(
        "docker",
        segments=(rf"docker-(?P<id>{_HEX})\.scope",),
        parents=(("docker", rf"(?P<id>{_HEX})"),),
        state=state.DockerState,
        pauses=True,
    ),
    Runtime(
        "containerd",
        segments=(rf"cri-containerd-(?P<id>{_HEX})\.scope", rf"nerdctl-(?P<id>{_HEX})\.scope"),
        state=state.ContainerdState,
        cri=True,
    ),
    Runtime("cri-o", segments=(rf"crio-(?P<id>{_HEX})(\.scope)?",), state=state.CrioState, cri=True),
    Runtime("podman", segments=(rf"libpod-(?P<id>{_HEX})(\.scope)?",), state=state.PodmanState, pauses=True),
    Runtime(
        "lxc",
        segments=(r"lxc\.payload\.(?P<id>.+)",),
        parents=(("lxc", r"(?P<id>[^/]+)"), ("lxc.payload", r"(?P<id>[^/]+)")),
    ),
    Runtime(
        "systemd-nspawn",
        segments=(r"machine-(?P<id>.+)\.scope", r"systemd-nspawn@(?P<id>.+)\.service"),  # machinectl start
        unit_names=True,
        not_own=_not_nspawn,
    ),
    Runtime("runc", state=state.RuncState),
    Runtime("crun", state=state.CrunState),
)
DAEMONS = frozenset(comm for r in RUNTIMES for comm in r.state.DAEMONS)
PAUSING_RUNTIMES = tuple(r.name for r in RUNTIMES if r.pauses)

# Kubernetes pods: cgroupfs driver "pod<uid>", systemd driver "kubepods[-<qos>]-pod<uid>.slice".
_POD = re.compile(rf"(?:kubepods(?:-(?P<qos>besteffort|burstable))?-)?pod(?P<uid>{_UID})(?:\.slice)?")
_POD_CONTAINER = re.compile(rf"(?P<id>{_HEX})")  # cgroupfs driver: the container id alone
_QOS_SEGMENT = {"besteffort": "besteffort", "burstable": "burstable"}


@dataclass(frozen=True, slots=True)
class Pod:
    uid: str
    qos: str  # guaranteed, burstable, besteffort
    namespace: str | None = None  # from the CRI runtime's bundle, where readable
    name: str | None = None
    container: str | None = None  # the container's name in the pod's spec; None for the sandbox


@dataclass(frozen=True, slots=True)
class RuntimeMatch:
    runtime: str
    id: str
    depth: int  # how many path segments make the container's cgroup
    pod: Pod | None = None


def unescape_unit(name: str) -> str:
    """systemd unit-name unescaping: "\\x2d" -> "-" (systemd-escape(1))."""
    return re.sub(r"\\x([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), name)


def match_cgroup(path: str) -> RuntimeMatch | None:
    """The outermost container cgroup on `path` ("/system.slice/docker-<id>.scope/..."), if any."""
    parts = [p for p in path.split("/") if p]
    pod: Pod | None = None
    for i, seg in enumerate(parts):
        if pod is None and (m := _POD.fullmatch(seg)) is not None:
            qos = m.group("qos") or (parts[i - 1] if i and parts[i - 1] in _QOS_SEGMENT else "guaranteed")
            pod = Pod(m.group("uid").replace("_", "-"), qos)
            continue
        found = _segment(seg, parts[i + 1 : i + 2])
        if found is not None:
            runtime, ident = found
            return None if ident is None else RuntimeMatch(runtime, ident, i + 1, pod)
        if pod is not None and (m := _POD_CONTAINER.fullmatch(seg)) is not None:
            return RuntimeMatch(KUBERNETES, m.group("id"), i + 1, pod)
        for r in RUNTIMES if i + 1 < len(parts) else ():
            for parent, pattern in r.parent_patterns:
                if seg == parent and (m := pattern.fullmatch(parts[i + 1])) is not None:
                    return RuntimeMatch(r.name, m.group("id"), i + 2, pod)
    return None


def _segment(seg: str, below: list[str]) -> tuple[str, str | None] | None:
    """(runtime, id) of a segment that is a runtime's container cgroup; id None where the runtime's
    naming matches but the cgroup is no container (a VM, nspawn's supervisor)."""
    for r in RUNTIMES:
        for pattern in r.patterns:
            if (m := pattern.fullmatch(seg)) is not None:
                if r.not_own is not None and r.not_own(m.group("id"), below):
                    return r.name, None
                return r.name, unescape_unit(m.group("id")) if r.unit_names else m.group("id")
    return None


class RuntimeStates:
    """Every runtime's state files, as one scan reads them. `daemons`: the command lines of the running
    runtime daemons (DAEMONS), by comm."""

    def __init__(self, host: HostRoot, daemons: state.Daemons, files: StateFiles | None = None) -> None:
        """`files`: the state files parsed before (KeptStates), else each is read."""
        self.readers = {r.name: r.state(r.name, host, daemons, files) for r in RUNTIMES}
        self._cri = [self.readers[r.name] for r in RUNTIMES if r.cri]

    def oci_states(self) -> Iterator[OciState]:
        """The containers the OCI runtimes record, labelled with the runtime whose root holds them."""
        for reader in self.readers.values():
            yield from reader.states()

    def identify(self, runtime: str, ident: str, pod: Pod | None) -> tuple[str, str, Pod | None]:
        """(runtime, name, pod) of a container: a pod's container is its CRI runtime's where one knows it,
        and a plain runc or crun container is a CRI's where its state names it (CRI-O runs runc with the
        default root); the name is the one the runtime shows, else a short id."""
        if runtime in (KUBERNETES, "runc", "crun"):
            runtime = next((r.runtime for r in self._cri if r.knows(ident)), runtime)
        reader = self.readers.get(runtime)
        if reader is None:
            return runtime, _shown(ident), pod
        names = reader.cri(ident)
        if pod is not None and names is not None:
            pod = Pod(pod.uid, pod.qos, names.namespace, names.pod, names.container)
        return runtime, reader.name(ident) or _shown(ident), pod

    def image(self, runtime: str, ident: str) -> str | None:
        """The image a container was made from, where its runtime's state says."""
        reader = self.readers.get(runtime)
        return reader.image(ident) if reader is not None else None


def _shown(ident: str) -> str:
    """An id as a name: a 64-hex id shortened as `docker ps` does, any other (runc id, LXC name) whole."""
    return ident[:12] if _HEX64.fullmatch(ident) else ident


class KeptStates:
    """The runtimes' state files as a caller that refreshes keeps them: each file parsed once and again
    only when it changes (fs/statefiles.StateFiles), and the round's RuntimeStates shared by the grouping
    and the containers' states (model/state.py) rather than read twice."""

    def __init__(self, host: HostRoot) -> None:
        self.host = host
        self.files = StateFiles()
        self.current: RuntimeStates | None = None

    def new_round(self, daemons: state.Daemons) -> RuntimeStates:
        self.files.new_round()
        self.current = RuntimeStates(self.host, daemons, self.files)
        return self.current
