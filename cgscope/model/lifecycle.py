"""Whether a container's single-process model is healthy: what its PID 1 is (an init that reaps orphans,
a shell, or the app itself), zombies under it, an app that exited while PID 1 lives on, and processes
that sit in the container's cgroup from outside its namespaces.

PID 1 of a pid namespace inherits every orphan of the namespace and must wait() for them, or they stay
zombies (pid_namespaces(7)). Programs written as inits do; an app rarely does; a shell reaps only when it
waits for a command, not while it blocks in a builtin such as `read`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs import cgroupfs
from cgscope.fs.hostroot import HostRoot
from cgscope.model.collect import Collector
from cgscope.model.containers import Container
from cgscope.model.isolation import Note
from cgscope.model.process import Process

# Programs made to run as PID 1 that reap every child they inherit.
INITS = frozenset(
    {
        "tini",
        "tini-static",
        "docker-init",  # Docker's --init: tini
        "dumb-init",
        "catatonit",  # Podman's --init
        "podman-init",
        "systemd",
        "init",  # sysvinit, busybox init, or a link to systemd
        "runit",
        "runit-init",
        "runsvdir",
        "s6-svscan",
        "s6-linux-init",
        "openrc-init",
        "supervisord",
        "my_init",  # phusion/baseimage
        "pause",  # Kubernetes' sandbox: it reaps the zombies of a pod that shares its pid namespace
    }
)
SHELLS = frozenset({"sh", "ash", "dash", "bash", "zsh", "ksh", "mksh", "yash", "fish", "tcsh", "csh"})


@dataclass(frozen=True, slots=True)
class ProcRef:
    pid: int
    nspid: int | None
    ppid: int
    state: str
    command: str


@dataclass(frozen=True, slots=True)
class Outsider:
    """A process in the container's cgroup that is not in all of the container's own namespaces."""

    pid: int
    command: str
    namespaces: tuple[str, ...]  # the types in which it is elsewhere


@dataclass(frozen=True)
class Lifecycle:
    init: ProcRef
    program: str  # what PID 1 runs: the base name of argv[0] (or comm)
    kind: str  # "init", "shell" or "app"
    script: bool  # a shell running a command string (sh -c ...), not an interactive one
    reaps: bool | None  # None: a shell, which reaps only when it waits
    children: tuple[ProcRef, ...]  # PID 1's live children
    zombies: tuple[ProcRef, ...]  # every zombie in the container, with its parent
    cgroup: str | None  # the cgroup checked for outsiders; None when the container has none of its own
    outsiders: tuple[Outsider, ...]

    @property
    def who(self) -> str:
        """ "PID 1", or "its init" for a container that shares a pid namespace (--pid=host), whose first
        process is not PID 1 and whose orphans go to another namespace's."""
        return "PID 1" if self.init.nspid == 1 else "its init"

    @property
    def unreaped(self) -> tuple[ProcRef, ...]:
        """Zombies whose parent is a PID 1 that is no reaping init."""
        return tuple(z for z in self.zombies if z.ppid == self.init.pid and self.kind != "init")

    @property
    def warnings(self) -> tuple[Note, ...]:
        out = []
        if self.unreaped:
            out.append(
                Note(
                    "zombies-unreaped",
                    f"{len(self.unreaped)} zombie(s) under {self.who} ({self.program}), which does not reap "
                    "them: run the container with an init (docker run --init, tini, dumb-init, catatonit)",
                )
            )
        others = len(self.zombies) - len(self.unreaped)
        if others:
            out.append(Note("zombies", f"{others} zombie(s) their parent has not waited for yet"))
        if self.app_exited:
            out.append(
                Note(
                    "app-exited",
                    f"nothing runs under {self.who} ({self.program}): what it started has exited, "
                    "while it keeps the container alive",
                )
            )
        if self.outsiders:
            out.append(
                Note(
                    "outsiders",
                    f"{len(self.outsiders)} process(es) in the container's cgroup {self.cgroup} live outside "
                    "its namespaces: they count against its limits without being part of it",
                )
            )
        return tuple(out)

    @property
    def app_exited(self) -> bool:
        """PID 1 is an init, or a shell running a script, and nothing runs under it any more: whatever it
        started has exited while it lives on. A shell with no child at all has started nothing that could
        have exited: it runs its own builtins (`while :; do :; done`, `read`); only an exited child it has
        not waited for (a zombie) shows that what it ran is gone."""
        if self.children:
            return False
        if self.kind == "init":
            return True
        return self.script and any(z.ppid == self.init.pid for z in self.zombies)


def _ref(p: Process) -> ProcRef:
    return ProcRef(p.pid, p.nspid, p.ppid, p.state, p.command)


def program(p: Process) -> str:
    """The program a process runs: argv[0]'s base name (a login shell's "-bash" as "bash"), else comm."""
    if p.cmdline:
        return posixpath.basename(p.cmdline[0]).lstrip("-") or p.comm
    return p.comm


def classify(p: Process) -> tuple[str, bool | None]:
    """(kind, reaps) of a PID 1."""
    names = {program(p), p.comm}
    if names & INITS:
        return "init", True
    if names & SHELLS:
        return "shell", None
    return "app", False


def build_lifecycle(
    init: Process,
    members: Sequence[Process],
    cgroup: str | None,
    outsiders: Sequence[Outsider],
) -> Lifecycle:
    kind, reaps = classify(init)
    return Lifecycle(
        init=_ref(init),
        program=program(init),
        kind=kind,
        script=kind == "shell" and "-c" in init.cmdline[1:],
        reaps=reaps,
        children=tuple(_ref(p) for p in members if p.ppid == init.pid and p.state != "Z"),
        zombies=tuple(_ref(p) for p in members if p.state == "Z"),
        cgroup=cgroup,
        outsiders=tuple(outsiders),
    )


def outside_namespaces(
    container: Container, namespaces: Mapping[int, Mapping[str, int | None]]
) -> list[tuple[int, tuple[str, ...]]]:
    """(pid, namespace types) of the processes in `namespaces` (those in the container's cgroup) that are
    elsewhere in some namespace the container owns (a type it does not share with the host); types are
    compared where both inodes are known."""
    own = [
        t
        for t, inode in container.namespaces.items()
        if inode is not None and t not in container.shared_with_host
    ]
    out = []
    for pid in sorted(namespaces):
        ns = namespaces[pid]
        elsewhere = tuple(t for t in own if ns.get(t) is not None and ns.get(t) != container.namespaces[t])
        if elsewhere:
            out.append((pid, elsewhere))
    return out


def own_cgroup(host: HostRoot, container: Container) -> tuple[str, list[int]] | None:
    """The container's cgroup in the primary hierarchy (else its first) and the pids of its subtree; None
    when it sits in the root cgroup (none of its own) or the cgroup cannot be read."""
    keys = [host.primary.key] if host.primary is not None and host.primary.key in container.cgroup else []
    for key in keys or list(container.cgroup):
        path, mount = container.cgroup[key], host.mount(key)
        directory = mount.directory(path) if mount is not None else None
        if path.strip("/") == "" or directory is None:
            continue
        pids: list[int] = []
        for d in cgroupfs.walk(directory):
            with suppress(ProcessGone, AccessDenied):
                pids.extend(cgroupfs.read_procs(d))
        return path, pids
    return None


def read_lifecycle(
    host: HostRoot, collector: Collector, container: Container, known: Mapping[int, Process]
) -> Lifecycle:
    """The lifecycle of `container`; `known` holds processes already read (Inventory.processes)."""
    members = [known[pid] for pid in container.pids if pid in known]
    init = known.get(container.init_pid) or collector.process(container.init_pid)
    found = own_cgroup(host, container)
    outsiders: list[Outsider] = []
    if found is not None:
        types = tuple(container.namespaces)
        namespaces: dict[int, Mapping[str, int | None]] = {}
        for pid in found[1]:
            with suppress(ProcessGone, AccessDenied):
                namespaces[pid] = known[pid].namespaces if pid in known else collector.namespaces(pid, types)
        for pid, elsewhere in outside_namespaces(container, namespaces):
            command = "?"
            with suppress(ProcessGone, AccessDenied):
                command = (known.get(pid) or collector.process(pid)).command
            outsiders.append(Outsider(pid, command, elsewhere))
    return build_lifecycle(init, members, found[0] if found else None, outsiders)
