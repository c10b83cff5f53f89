"""The processes tables — `cgscope ps`, the processes of `cgscope top CONTAINER`, and the dashboard's
processes view and container detail: the host pid beside the pid its container knows it by."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from cgscope.model.containers import Container
from cgscope.model.derive import ProcessUsage
from cgscope.model.process import Process
from cgscope.render.columns import MEASURING_CELL, NONE_CELL, Cell, Column, percent
from cgscope.render.columns.containers import HOST
from cgscope.render.views import outside
from cgscope.units import size


@dataclass(frozen=True, slots=True)
class ProcessRow:
    process: Process
    container: Container | None = None
    usage: ProcessUsage | None = None  # None: not sampled
    branch: str = ""  # in a tree of processes: the lines before its command ("│ └─ ")


def started(p: Process, today: str | None = None) -> str:
    """ps's START: the time for a process started today, else the date."""
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(p.start_time))
    return stamp[11:] if stamp.startswith(today or time.strftime("%Y-%m-%d")) else stamp[:10]


def tree(processes: Iterable[Process]) -> list[tuple[Process, str]]:
    """The processes parents first, each child under its parent (by pid), with the branch lines that
    draw the tree before its command, as `ps -H` and htop do: ("└─ ", "│  ├─ ")."""
    procs = {p.pid: p for p in processes}
    children: dict[int, list[Process]] = defaultdict(list)
    for p in procs.values():
        if p.ppid in procs and p.ppid != p.pid:
            children[p.ppid].append(p)
    roots = sorted((p for p in procs.values() if p.ppid not in procs or p.ppid == p.pid), key=lambda p: p.pid)
    out: list[tuple[Process, str]] = []
    stack: list[tuple[Process, str, str]] = [(p, "", "") for p in reversed(roots)]
    while stack:
        p, branch, indent = stack.pop()
        out.append((p, branch))
        kids = sorted(children.get(p.pid, ()), key=lambda c: c.pid)
        for i, kid in reversed(list(enumerate(kids))):
            last = i == len(kids) - 1
            stack.append((kid, indent + ("└─ " if last else "├─ "), indent + ("   " if last else "│  ")))
    seen = {p.pid for p, _ in out}  # a parent loop (pids reused between two reads) is listed flat
    return out + [(p, "") for pid, p in sorted(procs.items()) if pid not in seen]


def _nspid(r: ProcessRow) -> Cell:
    """The pid inside its container; "-" for a member outside the container's pid namespace."""
    return NONE_CELL if outside(r.process, r.container) else Cell.of(r.process.nspid)


def _state(r: ProcessRow) -> Cell:
    return Cell.of(r.usage.state if r.usage else r.process.state)


# Usage not read yet (a dashboard's first moments) is "…", as a rate before its second read.


def _cpu(r: ProcessRow) -> Cell:
    value = r.usage.cpu_percent if r.usage else None
    return MEASURING_CELL if value is None else Cell(f"{value:.1f}", value)


def _rss(r: ProcessRow) -> Cell:
    return MEASURING_CELL if r.usage is None else Cell(size(r.usage.rss_bytes), r.usage.rss_bytes)


def _memory(r: ProcessRow) -> Cell:
    if r.usage is None:
        return MEASURING_CELL
    value = r.usage.memory_percent
    return Cell.number(value, percent(value))


def _threads(r: ProcessRow) -> Cell:
    return MEASURING_CELL if r.usage is None else Cell.of(r.usage.threads)


def _command(r: ProcessRow) -> Cell:
    cell = Cell.of(r.process.command)
    return Cell(r.branch + cell.text, cell.sort) if r.branch else cell


COLUMNS: tuple[Column[ProcessRow], ...] = (
    Column("pid", "PID", lambda r: Cell.of(r.process.pid), "right", priority=0),
    Column("nspid", "NSPID", _nspid, "right", priority=2),
    Column("ppid", "PPID", lambda r: Cell.of(r.process.ppid), "right", priority=3),
    Column("user", "USER", lambda r: Cell.of(r.process.user), priority=2),
    Column("state", "S", _state),
    Column("start", "START", lambda r: Cell(started(r.process), r.process.start_time), priority=3),
    Column("cpu", "CPU%", _cpu, "right"),
    Column("rss", "RSS", _rss, "right"),
    Column("mem", "%MEM", _memory, "right", priority=2),
    Column("threads", "THREADS", _threads, "right", priority=3),
    Column("container", "CONTAINER", lambda r: Cell.of(r.container.name if r.container else HOST)),
    Column("command", "COMMAND", _command, wrap=True),
)

PS = ("pid", "nspid", "ppid", "user", "state", "start", "container", "command")  # `cgscope ps`
USAGE = ("pid", "nspid", "user", "state", "cpu", "rss", "mem", "command")  # `cgscope top CONTAINER`
# The dashboard's processes view, and a container's processes in its detail.
DASHBOARD = ("pid", "nspid", "ppid", "user", "state", "cpu", "rss", "mem", "threads", "container", "command")
MEMBERS = ("nspid", "pid", "ppid", "user", "state", "cpu", "rss", "mem", "threads", "command")
