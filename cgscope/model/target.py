"""What a command acts on, named as people name it: `CONTAINER|PID`. Every command and the dashboard
resolve references here, with one set of rules and one family of messages:

- A number (ASCII digits) is a pid, always — even where a container's id starts with digits. It names that
  process, and the container it belongs to, if any: a command that acts on containers takes the container.
- Anything else names a container, tried in turn: its exact name or id; a unique prefix of its id; one of
  its aliases (the leaf name of its own cgroup, its init's command).
- An ambiguous reference lists every candidate with enough of its id that copying one succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cgscope.errors import CgscopeError, NotFound, ProcessGone
from cgscope.model.containers import Container, Inventory
from cgscope.model.process import Process

SHORT_ID = 12  # as `docker ps` shortens its 64-hex ids; longer where that would not tell ids apart
LONG_ID = 32  # ids longer than this are shortened: runtimes' hex ids, not names or "pid-<inode>"

ReadProcess = Callable[[int], Process]  # reads one process (Collector.process): ProcessGone if none


class NotInContainer(CgscopeError):
    """A pid that names a host process where a container was asked for."""


@dataclass(frozen=True)
class Resolved:
    """A container (named, or holding the pid given), or a host process, or a member process with its
    container."""

    container: Container | None
    process: Process | None  # the process a pid named; None when a name named the container

    @property
    def pid(self) -> int:
        """The process named, else the container's init."""
        if self.process is not None:
            return self.process.pid
        assert self.container is not None
        return self.container.init_pid


def is_pid(ref: str) -> bool:
    """Only ASCII digits make a pid: str.isdigit() would take "²" and "٢"."""
    return ref.isascii() and ref.isdigit()


def resolve(inv: Inventory, ref: str, read: ReadProcess) -> Resolved:
    """A pid (its process and container) or a container reference."""
    if is_pid(ref):
        pid = int(ref)
        container = inv.container_of.get(pid)
        try:
            process = inv.processes.get(pid) or read(pid)
        except ProcessGone:
            raise NotFound(f"no such process: {pid} (see 'cgscope ps')") from None
        return Resolved(container, process)
    return Resolved(find_container(inv, ref), None)


def resolve_container(
    inv: Inventory, ref: str, read: ReadProcess, *, what: str = "this command"
) -> Container:
    """A container, by reference or by the pid of any of its processes."""
    found = resolve(inv, ref, read)
    if found.container is None:
        assert found.process is not None
        raise NotInContainer(
            f"process {found.process.pid} ({found.process.comm}) is not in a container: {what} takes a "
            "container, by name, id or the pid of one of its processes (see 'cgscope containers')"
        )
    return found.container


def resolve_process(ref: str, read: ReadProcess) -> Process:
    """The process a pid names, host or container member; no container is looked for."""
    if not is_pid(ref):
        raise NotFound(f"{ref!r} is not a pid: give a process id (see 'cgscope ps')")
    try:
        return read(int(ref))
    except ProcessGone:
        raise NotFound(f"no such process: {ref} (see 'cgscope ps')") from None


def user_process(p: Process, what: str) -> Process:
    """`p`, unless it is a kernel thread (no namespaces of its own to enter, no rootfs, no /proc view)
    or has exited (a zombie keeps only its exit status for its parent: proc(5) refuses the rest)."""
    if p.kernel_thread:
        raise CgscopeError(
            f"process {p.pid} ([{p.comm}]) is a kernel thread: {what} works on user processes and containers"
        )
    if p.state == "Z":
        raise ProcessGone(
            f"process {p.pid} ({p.comm}) has exited (a zombie its parent {p.ppid} has not reaped): "
            f"nothing left for {what}"
        )
    return p


def find_container(inv: Inventory, ref: str) -> Container:
    """A container by its exact name or id, a unique id prefix, or an alias, in that order."""
    containers = inv.containers
    tiers: Sequence[Callable[[Container], bool]] = (
        lambda c: ref in (c.name, c.id),
        lambda c: c.id.startswith(ref),
        lambda c: ref in aliases(c, inv),
    )
    for matches in tiers:
        found = [c for c in containers if matches(c)]
        if len(found) == 1:
            return found[0]
        if found:
            listed = "; ".join(describe(c, containers) for c in found)
            raise NotFound(f"{ref!r} matches {len(found)} containers: {listed}: give one of these ids")
    raise NotFound(
        f"no container named {ref!r}: give a name, an id or its start, or a pid (see 'cgscope containers')"
    )


def aliases(c: Container, inv: Inventory) -> frozenset[str]:
    """Other names people use for a container: its own cgroup's directory name, its init's command."""
    names = {path.rstrip("/").rsplit("/", 1)[-1] for path in c.cgroup.values()}
    init = inv.processes.get(c.init_pid)
    if init is not None:
        names.add(init.comm)
    return frozenset(names - {""})


def short_id(c: Container, among: Iterable[Container]) -> str:
    """A runtime's long hex id shortened as `docker ps` does, to its first SHORT_ID characters — more where
    another container's id starts the same; other ids ("pid-4026532181", a runc name) in full."""
    if len(c.id) <= LONG_ID:
        return c.id
    others = [o.id for o in among if o is not c and o.id != c.id]
    n = SHORT_ID
    while n < len(c.id) and any(o.startswith(c.id[:n]) for o in others):
        n += 1
    return c.id[:n]


def short_ids(among: Sequence[Container]) -> dict[str, str]:
    """Each container's `short_id` among the others, for all at once: sorted, an id shares its longest
    prefix with another with one of its neighbours."""
    ids = sorted({c.id for c in among})
    out = {}
    for i, long in enumerate(ids):
        if len(long) <= LONG_ID:
            out[long] = long
            continue
        near = [ids[j] for j in (i - 1, i + 1) if 0 <= j < len(ids)]
        shared = max((_common(long, o) for o in near), default=0)
        out[long] = long[: max(SHORT_ID, min(len(long), shared + 1))]
    return out


def _common(a: str, b: str) -> int:
    """How many characters a and b start with alike."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def describe(c: Container, among: Sequence[Container]) -> str:
    """ "web (docker 4f3c2a1b9d8e, init pid 4242)": enough to tell it from every other container."""
    return f"{c.name} ({c.runtime} {short_id(c, among)}, init pid {c.init_pid})"
