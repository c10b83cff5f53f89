"""The tables of `cgscope report`: one row per container recorded (its figures over the stretch
reported), then one per event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cgscope.render.columns import NONE, NONE_CELL, UNKNOWN_CELL, Cell, Column, percent, share_level
from cgscope.units import size


@dataclass(frozen=True)
class Row:
    container: Mapping[str, Any]  # the container reference
    cpu_peak: float | None  # % of its CPU allowance
    cpu_mean: float | None
    cpus: float | None  # the allowance
    throttled_s: float | None  # None: never a quota
    wset_peak: int | None  # bytes
    limit_bytes: int | None  # at the peak; None: no limit
    wset_peak_percent: float | None
    victims: list[tuple[object, object]]  # each OOM kill's victim: (pid, command), None where unknown


@dataclass(frozen=True)
class EventRow:
    time: str
    kind: str
    container: str
    detail: str


def _share(value: float | None) -> Cell:
    text = percent(value)
    return UNKNOWN_CELL if value is None or text is None else Cell(text, value, value, share_level(value))


def _memory(r: Row) -> Cell:
    if r.wset_peak is None:
        return UNKNOWN_CELL
    limit = size(r.limit_bytes) if r.limit_bytes else NONE
    return Cell(f"{size(r.wset_peak)}/{limit}", r.wset_peak)


def _throttled(r: Row) -> Cell:
    return NONE_CELL if r.throttled_s is None else Cell(f"{r.throttled_s:.1f}", r.throttled_s)


def _victims(r: Row) -> Cell:
    """How many OOM kills, and whom: "2: 4242 (stress), ?"."""
    if not r.victims:
        return Cell("0", 0)
    named = ", ".join("?" if pid is None else f"{pid} ({comm})" for pid, comm in r.victims)
    return Cell(f"{len(r.victims)}: {named}", len(r.victims), level="error")


COLUMNS: tuple[Column[Row], ...] = (
    Column("name", "NAME", lambda r: Cell.of(str(r.container.get("name"))), priority=0),
    Column("runtime", "RUNTIME", lambda r: Cell.of(str(r.container.get("runtime"))), priority=3),
    Column(
        "cpus", "CPUS", lambda r: Cell.number(r.cpus, f"{r.cpus:g}" if r.cpus is not None else None), "right"
    ),
    Column("cpu_peak", "PEAK %CPU LIM", lambda r: _share(r.cpu_peak), "right"),
    Column("cpu_mean", "MEAN %CPU LIM", lambda r: _share(r.cpu_mean), "right"),
    Column("throttled", "THROTTLED s", _throttled, "right", priority=2),
    Column("memory", "PEAK WSET/LIMIT", _memory, "right"),
    Column("mem_peak", "PEAK %MEM", lambda r: _share(r.wset_peak_percent), "right"),
    Column("oom", "OOM KILLS", _victims, wrap=True),
)

EVENT_COLUMNS: tuple[Column[EventRow], ...] = (
    Column("time", "TIME", lambda r: Cell.of(r.time), priority=0),
    Column("kind", "EVENT", lambda r: Cell.of(r.kind), priority=0),
    Column("container", "CONTAINER", lambda r: Cell.of(r.container), priority=0),
    Column("detail", "DETAIL", lambda r: Cell.of(r.detail), wrap=True),
)
