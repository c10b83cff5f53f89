"""Which runtime made a cgroup, told from its path alone (no daemon API).

Each runtime names the cgroup it creates for a container in its own way; the names below are those
of the runtimes' sources and of systemd's unit naming (systemd.unit(5): "-" is escaped as "\\x2d").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEX = r"[0-9a-f]{12,64}"
_UID = r"[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}"

# One cgroup-path segment that is a container's own cgroup -> (runtime, id or name group).
_SEGMENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("docker", re.compile(rf"docker-(?P<id>{_HEX})\.scope")),
    ("containerd", re.compile(rf"cri-containerd-(?P<id>{_HEX})\.scope")),
    ("containerd", re.compile(rf"nerdctl-(?P<id>{_HEX})\.scope")),
    ("cri-o", re.compile(rf"crio-(?P<id>{_HEX})(\.scope)?")),
    ("podman", re.compile(rf"libpod-(?P<id>{_HEX})(\.scope)?")),
    ("lxc", re.compile(r"lxc\.payload\.(?P<id>.+)")),
    ("systemd-nspawn", re.compile(r"machine-(?P<id>.+)\.scope")),
    ("systemd-nspawn", re.compile(r"systemd-nspawn@(?P<id>.+)\.service")),  # machinectl start
)
# Two segments: a parent directory that holds one cgroup per container.
_PARENTS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("docker", "docker", re.compile(rf"(?P<id>{_HEX})")),
    ("lxc", "lxc", re.compile(r"(?P<id>[^/]+)")),
    ("lxc", "lxc.payload", re.compile(r"(?P<id>[^/]+)")),
)
# Kubernetes pods: cgroupfs driver "pod<uid>", systemd driver "kubepods[-<qos>]-pod<uid>.slice".
_POD = re.compile(rf"(?:kubepods(?:-(?P<qos>besteffort|burstable))?-)?pod(?P<uid>{_UID})(?:\.slice)?")
_POD_CONTAINER = re.compile(rf"(?P<id>{_HEX})")  # cgroupfs driver: the container id alone
_QOS_SEGMENT = {"besteffort": "besteffort", "burstable": "burstable"}


@dataclass(frozen=True, slots=True)
class Pod:
    uid: str
    qos: str  # guaranteed, burstable, besteffort


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
        for runtime, pattern in _SEGMENTS:
            if (m := pattern.fullmatch(seg)) is not None:
                if runtime == "systemd-nspawn" and _not_nspawn(m.group("id"), parts[i + 1 : i + 2]):
                    return None
                ident = unescape_unit(m.group("id")) if runtime == "systemd-nspawn" else m.group("id")
                return RuntimeMatch(runtime, ident, i + 1, pod)
        if pod is not None and (m := _POD_CONTAINER.fullmatch(seg)) is not None:
            return RuntimeMatch("kubernetes", m.group("id"), i + 1, pod)
        if i + 1 < len(parts):
            for runtime, parent, pattern in _PARENTS:
                if seg == parent and (m := pattern.fullmatch(parts[i + 1])) is not None:
                    return RuntimeMatch(runtime, m.group("id"), i + 2, pod)
    return None


def _not_nspawn(name: str, below: list[str]) -> bool:
    """machine-*.scope also holds libvirt's VMs (qemu-N-name) and podman's pods are slices, not scopes;
    with cgroup v2, nspawn's own process lives in the scope's "supervisor" child, its payload in "payload"."""
    return name.startswith("qemu-") or name.startswith("qemu\\x2d") or below == ["supervisor"]
