"""OCI runtimes' per-container state files: runc's <root>/<id>/state.json (libcontainer's State) and crun's
<root>/<id>/status. Which runtime a root belongs to is runtime_state's business; this reads one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cgscope.fs.hostroot import HostRoot
from cgscope.fs.statefiles import load_json


@dataclass(frozen=True)
class OciState:
    """A container that runc or crun created, from its state file."""

    runtime: str
    id: str
    init_pid: int
    init_start_ticks: int | None  # the init's start time in clock ticks since boot, when recorded
    cgroup_dirs: tuple[Path, ...]  # its cgroup directories under the host root, no root cgroup


def read(
    host: HostRoot, runtime: str, directory: Path, load: Callable[[Path], Any] = load_json
) -> OciState | None:
    """runc's <root>/<id>/state.json or crun's <root>/<id>/status (the directory is the id: crun's file
    does not repeat it); None when neither is readable or it records no running init."""
    runc = load(directory / "state.json")
    if isinstance(runc, dict):
        return _runc_state(host, runtime, directory.name, runc)
    crun = load(directory / "status")
    return _crun_state(host, runtime, directory.name, crun) if isinstance(crun, dict) else None


def _runc_state(host: HostRoot, runtime: str, ident: str, data: dict[str, Any]) -> OciState | None:
    pid = data.get("init_process_pid")
    if not isinstance(pid, int) or pid <= 0:
        return None
    paths = data.get("cgroup_paths") or {}
    dirs = [host.path(p) for p in paths.values() if isinstance(p, str)] if isinstance(paths, dict) else []
    config = data.get("config") or {}
    cgroups = config.get("cgroups") or {} if isinstance(config, dict) else {}
    configured = cgroups.get("path") if isinstance(cgroups, dict) else None
    start = data.get("init_process_start")
    return OciState(
        runtime,
        str(data.get("id") or ident),
        pid,
        int(start)
        if isinstance(start, int | str) and str(start).isascii() and str(start).isdigit()
        else None,
        _own_dirs(host, dirs, configured),
    )


def _crun_state(host: HostRoot, runtime: str, ident: str, data: dict[str, Any]) -> OciState | None:
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
        _own_dirs(host, [], cgroup if isinstance(cgroup, str) else None),
    )


def _own_dirs(host: HostRoot, dirs: list[Path], configured: str | None) -> tuple[Path, ...]:
    """The cgroup directories a state names, else those of its configured cgroup path in every hierarchy
    where it exists; root cgroups are left out (a rootless container has no cgroup of its own)."""
    roots = {m.mountpoint for m in host.mounts}
    found = [d for d in dirs if d not in roots and any(r in d.parents for r in roots)]
    if not found and configured and configured.startswith("/"):
        for mount in host.mounts:
            d = mount.directory(configured)
            if d is not None and d != mount.mountpoint and d.is_dir():
                found.append(d)
    return tuple(found)
