"""The state files container runtimes keep on disk: read where readable, silently absent otherwise.

Nothing here talks to a daemon. Where a runtime keeps its state is found as the daemon itself finds it:
from the running daemon's command line, else its configuration file, else the default (each reader's
`roots`). One class per runtime: the containers its OCI runtime records (runc's state.json, crun's
status), their names, and whether it knows a container id (which CRI runs a Kubernetes pod).

State directories change while they are read (a container is removed, a namespace goes with its last
container): a directory or file gone meanwhile is skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from cgscope.fs import ocistate
from cgscope.fs.files import list_dir
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.ocistate import OciState
from cgscope.fs.statefiles import StateFiles
from cgscope.fs.users import read_passwd

Argv = tuple[str, ...]
Daemons = Mapping[str, Sequence[Argv]]  # daemon comm -> the command lines of those running


@dataclass(frozen=True)
class CriNames:
    """What a CRI runtime's OCI bundle says of a Kubernetes container (its annotations)."""

    namespace: str
    pod: str
    container: str | None  # None for the pod's sandbox, which only holds the namespaces

    @property
    def name(self) -> str:
        """ "namespace/pod/container", "namespace/pod/(pause)" for the sandbox."""
        return f"{self.namespace}/{self.pod}/{self.container or '(pause)'}"


def _subdirs(directory: Path) -> list[Path]:
    """The directories in `directory`, sorted; none when it is gone or unreadable (even mid-walk)."""
    try:
        return sorted(Path(e.path) for e in list_dir(directory) if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def flag(argv: Argv, *names: str) -> str | None:
    """The value of the last of `names` ("--data-root") in a Go-style command line: "--x V" or "--x=V"."""
    found = None
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        if name in names:
            found = value if eq else (argv[i + 1] if i + 1 < len(argv) else None)
    return found


# A Kubernetes container's names in its OCI bundle (containerd's CRI plugin, then CRI-O's).
_CRI_KEYS = (
    (
        "io.kubernetes.cri.sandbox-namespace",
        "io.kubernetes.cri.sandbox-name",
        "io.kubernetes.cri.container-name",
    ),
    ("io.kubernetes.pod.namespace", "io.kubernetes.pod.name", "io.kubernetes.container.name"),
)
_SANDBOX_TYPES = {"sandbox", "infra"}  # containerd's container-type, CRI-O's ContainerType


class RuntimeState:
    """The state files of the runtime named `runtime`; this base knows none. `daemons`: the command
    lines of the running daemons by comm, of which those named in DAEMONS are this runtime's."""

    DAEMONS: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, runtime: str, host: HostRoot, daemons: Daemons, files: StateFiles | None = None
    ) -> None:
        """`files`: state files parsed before, kept by a caller that refreshes."""
        self.runtime = runtime
        self.host = host
        self.files = files or StateFiles()
        self.daemons = [argv for comm in self.DAEMONS for argv in daemons.get(comm, ())]

    def oci_roots(self) -> list[Path]:
        """Directories holding one <id>/state.json (runc) or <id>/status (crun) per container."""
        return []

    def states(self) -> Iterator[OciState]:
        """The containers recorded under oci_roots, labelled with this runtime."""
        for root in dict.fromkeys(self.oci_roots()):
            for directory in _subdirs(root):
                state = ocistate.read(self.host, self.runtime, directory, self.files.json)
                if state is not None:
                    yield state

    def name(self, ident: str) -> str | None:
        """The name the runtime shows for container `ident`; None to show the id."""
        return None

    def cri(self, ident: str) -> CriNames | None:
        """The Kubernetes names of `ident`, for a CRI runtime that ran it."""
        return None

    def image(self, ident: str) -> str | None:
        """The image container `ident` was made from, where the runtime's state records it."""
        return None

    def knows(self, ident: str) -> bool:
        """Whether this runtime's state records container `ident`."""
        return False

    def paused(self, ident: str) -> bool | None:
        """Whether the runtime records container `ident` paused; None where it keeps no record read here."""
        return None

    def _annotations(self, bundle: Path | None) -> dict[str, Any]:
        """The annotations of an OCI bundle's config.json; none where unreadable."""
        data = self.files.json(bundle / "config.json") if bundle is not None else None
        notes = data.get("annotations") if isinstance(data, dict) else None
        return notes if isinstance(notes, dict) else {}

    def _annotation(self, bundle: Path | None, key: str) -> str | None:
        value = self._annotations(bundle).get(key)
        return value if isinstance(value, str) and value else None

    def cri_names(self, bundle: Path) -> CriNames | None:
        """The names in an OCI bundle's config.json annotations, where readable."""
        notes = self._annotations(bundle)
        kind = notes.get("io.kubernetes.cri.container-type") or notes.get("io.kubernetes.cri-o.ContainerType")
        for namespace, pod, container in _CRI_KEYS:
            ns, name, cname = notes.get(namespace), notes.get(pod), notes.get(container)
            if isinstance(ns, str) and ns and isinstance(name, str) and name:
                sandbox = kind in _SANDBOX_TYPES or not (isinstance(cname, str) and cname)
                return CriNames(ns, name, None if sandbox else str(cname))
        return None

    def _setting(self, flags: tuple[str, ...], key: str, default: str) -> list[Path]:
        """A directory setting of each running daemon: its flag (`flags`), else `key` in its configuration
        file, else `default` — which also stands when no daemon runs (state outlives its daemon)."""
        out = []
        for argv in self.daemons or [()]:
            value = flag(argv, *flags)
            if value is None:
                config = self._config(argv)
                found = config.get(key) if isinstance(config, dict) else None
                value = found if isinstance(found, str) and found.startswith("/") else None
            out.append(self.host.path(value or default))
        return list(dict.fromkeys(out))

    def _config(self, argv: Argv) -> Any:
        """The daemon's configuration file, parsed; None where it has none or it is unreadable."""
        return None


# -- the runtimes --------------------------------------------------------------------------------------


class RuncState(RuntimeState):
    """Plain runc: `runc --root` (default /run/runc)."""

    def oci_roots(self) -> list[Path]:
        return [self.host.path("/run/runc")]


class CrunState(RuntimeState):
    """Plain crun: /run/crun."""

    def oci_roots(self) -> list[Path]:
        return [self.host.path("/run/crun")]


class DockerState(RuntimeState):
    """dockerd: its containers' runc state under <exec-root>/runtime-<runtime>/<containerd namespace>/,
    their names in <data-root>/containers/<id>/config.v2.json. Both roots from the running dockerd
    (--data-root, --exec-root, else its --config-file, default /etc/docker/daemon.json)."""

    DAEMONS = ("dockerd",)

    def _config(self, argv: Argv) -> Any:
        return self.files.json(self.host.path(flag(argv, "--config-file") or "/etc/docker/daemon.json"))

    @cached_property
    def data_roots(self) -> list[Path]:
        return self._setting(("--data-root", "-g", "--graph"), "data-root", "/var/lib/docker")

    @cached_property
    def exec_roots(self) -> list[Path]:
        return self._setting(("--exec-root",), "exec-root", "/run/docker")

    def oci_roots(self) -> list[Path]:
        runtimes = [d for root in self.exec_roots for d in _subdirs(root) if d.name.startswith("runtime-")]
        return [namespace for d in runtimes for namespace in _subdirs(d)]

    def _config_v2(self, ident: str) -> dict[str, Any]:
        for root in self.data_roots:
            data = self.files.json(root / "containers" / ident / "config.v2.json")
            if isinstance(data, dict):
                return data
        return {}

    def name(self, ident: str) -> str | None:
        """The name Docker shows (config.v2.json "Name", without its leading "/")."""
        name = self._config_v2(ident).get("Name")
        return name.lstrip("/") if isinstance(name, str) and name.strip("/") else None

    def image(self, ident: str) -> str | None:
        """The image as it was asked for (config.v2.json "Config"."Image", as `docker ps` shows it)."""
        config = self._config_v2(ident).get("Config")
        image = config.get("Image") if isinstance(config, dict) else None
        return image if isinstance(image, str) and image else None

    def paused(self, ident: str) -> bool | None:
        """`docker pause`'s record: config.v2.json "State"."Paused"."""
        for root in self.data_roots:
            data = self.files.json(root / "containers" / ident / "config.v2.json")
            record = data.get("State") if isinstance(data, dict) else None
            paused = record.get("Paused") if isinstance(record, dict) else None
            if isinstance(paused, bool):
                return paused
        return None


class ContainerdState(RuntimeState):
    """containerd: its runc shim keeps runc's state under /run/containerd/runc/<namespace>/ (the shim's
    default root, whatever containerd's own --state), and each task's OCI bundle under
    <state>/io.containerd.runtime.v2.task/<namespace>/<id>/ (--state, else the config file's "state",
    default /run/containerd)."""

    DAEMONS = ("containerd",)

    def _config(self, argv: Argv) -> Any:
        return self.files.toml(self.host.path(flag(argv, "--config", "-c") or "/etc/containerd/config.toml"))

    @cached_property
    def state_dirs(self) -> list[Path]:
        return self._setting(("--state",), "state", "/run/containerd")

    @cached_property
    def _runc_namespaces(self) -> list[Path]:
        return _subdirs(self.host.path("/run/containerd/runc"))

    def oci_roots(self) -> list[Path]:
        return self._runc_namespaces

    @cached_property
    def _task_namespaces(self) -> list[Path]:
        return [ns for state in self.state_dirs for ns in _subdirs(state / "io.containerd.runtime.v2.task")]

    def _bundles(self, ident: str) -> Iterator[Path]:
        for ns in self._task_namespaces:
            if ident in self.files.subdirs(ns):
                yield ns / ident

    def cri(self, ident: str) -> CriNames | None:
        return next((n for b in self._bundles(ident) if (n := self.cri_names(b)) is not None), None)

    def image(self, ident: str) -> str | None:
        """The image the CRI plugin pulled for a pod's container (its bundle's annotation)."""
        return self._annotation(next(self._bundles(ident), None), "io.kubernetes.cri.image-name")

    def name(self, ident: str) -> str | None:
        names = self.cri(ident)
        if names is not None:
            return names.name
        for bundle in self._bundles(ident):  # nerdctl names its containers in an annotation
            name = self._annotation(bundle, "nerdctl/name")
            if name is not None:
                return name
        return None

    def knows(self, ident: str) -> bool:
        return next(self._bundles(ident), None) is not None or any(
            ident in self.files.subdirs(namespace) for namespace in self.oci_roots()
        )


def _homes(host: HostRoot) -> list[Path]:
    """Each user's home directory (passwd(5) field 6), under the host root."""
    homes = (entry.home for entry in read_passwd(host.path("/etc/passwd")))
    return [host.path(h) for h in dict.fromkeys(homes) if h.startswith("/") and h != "/"]


class ContainersStorage(RuntimeState):
    """containers/storage (Podman, CRI-O): graphroot and runroot from storage.conf (the user's
    ~/.config/containers/storage.conf for rootless storage, else /etc/containers/storage.conf), defaults
    /var/lib/containers/storage and /run/containers/storage; rootless storage under each user's home."""

    @cached_property
    def storages(self) -> list[Path]:
        out = []
        for conf, graph, run in self._places():
            config = self.files.toml(conf)
            storage = config.get("storage") if isinstance(config, dict) else None
            storage = storage if isinstance(storage, dict) else {}
            for key, default in (("graphroot", graph), ("runroot", run)):
                value = storage.get(key)
                usable = isinstance(value, str) and value.startswith("/")
                out.append(self.host.path(str(value)) if usable else default)
        return list(dict.fromkeys(out))

    def _places(self) -> Iterator[tuple[Path, Path, Path]]:
        """(storage.conf, default graphroot, default runroot): rootful, then each user's."""
        yield (
            self.host.path("/etc/containers/storage.conf"),
            self.host.path("/var/lib/containers/storage"),
            self.host.path("/run/containers/storage"),
        )
        for home in _homes(self.host):
            graph = home / ".local/share/containers/storage"
            if os.path.isdir(graph):  # False too where this user may not look (a home of 0700)
                yield home / ".config/containers/storage.conf", graph, graph

    def _bundle(self, ident: str) -> Path | None:
        for containers, listed in self._containers.items():
            if ident in listed and os.path.isdir(userdata := containers / ident / "userdata"):
                return userdata
        return None

    @cached_property
    def _containers(self) -> dict[Path, frozenset[str]]:
        """Each storage's overlay-containers/, with the ids it holds (one directory each)."""
        dirs = [storage / "overlay-containers" for storage in self.storages]
        return {d: self.files.subdirs(d) for d in dirs}


class PodmanState(ContainersStorage):
    """Podman: container names and images in containers/storage's lists (containers.json, and
    volatile-containers.json where `podman run --rm` records its containers, beside it or under the
    runroot)."""

    @cached_property
    def entries(self) -> dict[str, dict[str, Any]]:
        """id -> its entry in the lists, the first one listed."""
        out: dict[str, dict[str, Any]] = {}
        for storage in self.storages:
            for filename in ("containers.json", "volatile-containers.json"):
                data = self.files.json(storage / "overlay-containers" / filename)
                for entry in data if isinstance(data, list) else ():
                    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                        out.setdefault(entry["id"], entry)
        return out

    def name(self, ident: str) -> str | None:
        """The first of the entry's "names"."""
        names = self.entries.get(ident, {}).get("names")
        return str(names[0]) if isinstance(names, list) and names else None

    def image(self, ident: str) -> str | None:
        """The "image-name" of the entry's metadata (a JSON string of its own)."""
        meta = self.entries.get(ident, {}).get("metadata")
        try:
            image = json.loads(meta).get("image-name") if isinstance(meta, str) else None
        except (ValueError, AttributeError):
            return None
        return image if isinstance(image, str) and image else None


class CrioState(ContainersStorage):
    """CRI-O: each container's OCI bundle in <runroot>/overlay-containers/<id>/userdata/."""

    DAEMONS = ("crio",)

    def cri(self, ident: str) -> CriNames | None:
        bundle = self._bundle(ident)
        return self.cri_names(bundle) if bundle is not None else None

    def image(self, ident: str) -> str | None:
        return self._annotation(self._bundle(ident), "io.kubernetes.cri-o.ImageName")

    def name(self, ident: str) -> str | None:
        names = self.cri(ident)
        return names.name if names is not None else None

    def knows(self, ident: str) -> bool:
        return self._bundle(ident) is not None
