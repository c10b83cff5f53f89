"""Runtime state files that name containers: read where readable, silently absent otherwise.

Nothing here talks to a daemon: these are the files the runtimes keep on disk (paths under HostRoot).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cgscope.fs.hostroot import HostRoot

# OCI runtimes' state roots: (runtime, glob below the root, state file name).
_OCI_ROOTS = (
    ("runc", "run/runc/*", "state.json"),
    ("crun", "run/crun/*", "status"),
    ("runc", "run/docker/runtime-runc/*/*", "state.json"),
    ("runc", "run/containerd/runc/*/*", "state.json"),
)
# Kubernetes container names, from the OCI bundle's annotations (containerd's CRI plugin, CRI-O).
_K8S_NAME_KEYS = (
    (
        "io.kubernetes.cri.sandbox-namespace",
        "io.kubernetes.cri.sandbox-name",
        "io.kubernetes.cri.container-name",
    ),
    ("io.kubernetes.pod.namespace", "io.kubernetes.pod.name", "io.kubernetes.container.name"),
)
_SANDBOX = "(pause)"  # a pod's sandbox container has no container name: it only holds the namespaces
_BUNDLES = (
    "run/containerd/io.containerd.runtime.v2.task/*/{id}/config.json",
    "run/containers/storage/overlay-containers/{id}/userdata/config.json",
)


@dataclass(frozen=True)
class OciState:
    """A container that runc or crun created, from its state file."""

    runtime: str
    id: str
    init_pid: int
    init_start_ticks: int | None  # the init's start time in clock ticks since boot, when recorded
    cgroup_dirs: tuple[Path, ...]  # its cgroup directories, as absolute host paths
    cgroup_path: str | None  # the configured cgroupsPath, when the state keeps it


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def oci_states(host: HostRoot) -> list[OciState]:
    states = []
    for runtime, pattern, filename in _OCI_ROOTS:
        for directory in host.root.glob(pattern):
            data = _json(directory / filename)
            if not isinstance(data, dict):
                continue
            # The directory is the container's id: crun's status file does not repeat it.
            state = (
                _runc_state(host, runtime, directory.name, data)
                if filename == "state.json"
                else _crun_state(runtime, directory.name, data)
            )
            if state is not None:
                states.append(state)
    return states


def _runc_state(host: HostRoot, runtime: str, ident: str, data: dict[str, Any]) -> OciState | None:
    pid = data.get("init_process_pid")
    if not isinstance(pid, int) or pid <= 0:
        return None
    paths = data.get("cgroup_paths") or {}
    dirs = tuple(host.path(p) for p in paths.values() if isinstance(p, str))
    config = data.get("config") or {}
    cgroups = config.get("cgroups") or {}
    start = data.get("init_process_start")
    return OciState(
        runtime,
        str(data.get("id") or ident),
        pid,
        int(start) if isinstance(start, int | str) and str(start).isdigit() else None,
        dirs,
        cgroups.get("path") if isinstance(cgroups.get("path"), str) else None,
    )


def _crun_state(runtime: str, ident: str, data: dict[str, Any]) -> OciState | None:
    pid = data.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return None
    start = data.get("process-start-time")
    cgroup = data.get("cgroup-path")
    return OciState(
        runtime,
        ident,
        pid,
        start if isinstance(start, int) else None,
        (),
        cgroup if isinstance(cgroup, str) and cgroup else None,
    )


def docker_name(host: HostRoot, container_id: str) -> str | None:
    """The name Docker shows (config.v2.json "Name", without its leading "/")."""
    data = _json(host.path(f"/var/lib/docker/containers/{container_id}/config.v2.json"))
    name = data.get("Name") if isinstance(data, dict) else None
    return name.lstrip("/") if isinstance(name, str) and name else None


# containers/storage's container lists (rootful): `podman run --rm` records its containers in the
# volatile list, kept beside the other, or under the run root in transient-store mode.
_PODMAN_LISTS = (
    "/var/lib/containers/storage/overlay-containers/containers.json",
    "/var/lib/containers/storage/overlay-containers/volatile-containers.json",
    "/run/containers/storage/overlay-containers/volatile-containers.json",
)


def podman_names(host: HostRoot) -> dict[str, str]:
    """id -> first name, from containers/storage's container lists."""
    out: dict[str, str] = {}
    for path in _PODMAN_LISTS:
        data = _json(host.path(path))
        for entry in data if isinstance(data, list) else ():
            names = entry.get("names") if isinstance(entry, dict) else None
            if isinstance(names, list) and names and isinstance(entry.get("id"), str):
                out.setdefault(entry["id"], str(names[0]))
    return out


def kubernetes_name(host: HostRoot, container_id: str) -> str | None:
    """ "namespace/pod/container" ("namespace/pod/(pause)" for the pod's sandbox) from the OCI bundle's
    CRI annotations, where the bundle is readable."""
    for pattern in _BUNDLES:
        for config in host.root.glob(pattern.format(id=container_id)):
            data = _json(config)
            notes = data.get("annotations") if isinstance(data, dict) else None
            if not isinstance(notes, dict):
                continue
            for namespace, pod, container in _K8S_NAME_KEYS:
                names = [notes.get(namespace), notes.get(pod), notes.get(container) or _SANDBOX]
                if all(isinstance(v, str) and v for v in names):
                    return "/".join(str(v) for v in names)
    return None
