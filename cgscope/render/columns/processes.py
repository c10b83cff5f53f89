"""The processes tables — `cgscope ps`, the processes of `cgscope top CONTAINER`, and the dashboard's
processes view and container detail: the host pid beside the pid its container knows it by."""

from __future__ import annotations

import time
from dataclasses import dataclass

from cgscope.model.containers import Container
from cgscope.model.derive import ProcessUsage
from cgscope.model.process import Process
from cgscope.render.columns import MEASURING_CELL, UNKNOWN_CELL, Cell, Column, percent
from cgscope.render.columns.containers import HOST
from cgscope.units import size


@dataclass(frozen=True, slots=True)
class ProcessRow:
    process: Process
    container: Container | None = None
    usage: ProcessUsage | None = None  # None: not sampled


def started(p: Process, today: str | None = None) -> str:
    """ps's START: the time for a process started today, else the date."""
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(p.start_time))
    return stamp[11:] if stamp.startswith(today or time.strftime("%Y-%m-%d")) else stamp[:10]


def _state(r: ProcessRow) -> Cell:
    return Cell.of(r.usage.state if r.usage else r.process.state)


def _cpu(r: ProcessRow) -> Cell:
    if r.usage is None:
        return UNKNOWN_CELL
    value = r.usage.cpu_percent
    return MEASURING_CELL if value is None else Cell(f"{value:.1f}", value)


def _rss(r: ProcessRow) -> Cell:
    value = r.usage.rss_bytes if r.usage else None
    return UNKNOWN_CELL if value is None else Cell(size(value), value)


def _memory(r: ProcessRow) -> Cell:
    value = r.usage.memory_percent if r.usage else None
    return Cell.number(value, percent(value))


COLUMNS: tuple[Column[ProcessRow], ...] = (
    Column("pid", "PID", lambda r: Cell.of(r.process.pid), "right", priority=0),
    Column("nspid", "NSPID", lambda r: Cell.of(r.process.nspid), "right"),
    Column("ppid", "PPID", lambda r: Cell.of(r.process.ppid), "right", priority=2),
    Column("user", "USER", lambda r: Cell.of(r.process.user)),
    Column("state", "S", _state),
    Column("start", "START", lambda r: Cell(started(r.process), r.process.start_time), priority=2),
    Column("cpu", "CPU%", _cpu, "right"),
    Column("rss", "RSS", _rss, "right"),
    Column("mem", "%MEM", _memory, "right"),
    Column("container", "CONTAINER", lambda r: Cell.of(r.container.name if r.container else HOST)),
    Column("command", "COMMAND", lambda r: Cell.of(r.process.command), wrap=True),
)

PS = ("pid", "nspid", "ppid", "user", "state", "start", "container", "command")  # `cgscope ps`
USAGE = ("pid", "nspid", "user", "state", "cpu", "rss", "mem", "command")  # `cgscope top CONTAINER`
DASHBOARD = ("pid", "nspid", "ppid", "user", "state", "container", "command")  # the processes view
MEMBERS = ("nspid", "pid", "ppid", "user", "state", "cpu", "rss", "mem", "command")  # a container's
