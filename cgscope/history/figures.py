"""A recorded frame's usage figures, read without building its Frame (history/codec.py's schema): what a
report over thousands of frames and a replay's sparklines read of each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cgscope.history.codec import decode_usage, load
from cgscope.history.fields import integer, items, number, obj, opt_number, text
from cgscope.model.derive import Usage


def points(data: bytes | Mapping[str, Any]) -> dict[str | None, tuple[float | None, int | None]]:
    """Each container's CPU (% of one CPU) and working set in a recorded frame, by id (the host's under
    None), read without building the Frame: what a sparkline over hundreds of frames needs."""
    top = load(data)
    out: dict[str | None, tuple[float | None, int | None]] = {None: _point(top.get("u"))}
    for item in items(top.get("c"), "c"):
        c = obj(item, "container")
        out[text(c.get("i"), "i")] = _point(c.get("u"))
    return out


def _point(usage: object) -> tuple[float | None, int | None]:
    if usage is None:
        return None, None
    u = obj(usage, "u")
    cpu, memory = u.get("c"), u.get("m")
    host = opt_number(items(cpu, "c", 5)[0], "c") if cpu is not None else None
    wset = integer(items(memory, "m", 7)[1], "m") if memory is not None else None
    return host, wset


@dataclass(frozen=True)
class Figures:
    """A recorded frame's CPU and memory, without its inventory: what a report over thousands of frames
    reads, and what the store rolls up."""

    taken_at: float
    host: Usage | None
    containers: list[tuple[tuple[str, str, str, int], Usage]]  # (id, name, runtime, init pid), usage


def figures(data: bytes | Mapping[str, Any]) -> Figures:
    d = load(data)
    rows = []
    for item in items(d.get("c"), "c"):
        c = obj(item, "container")
        if "u" in c:
            who = (
                text(c.get("i"), "i"),
                text(c.get("n"), "n"),
                text(c.get("r"), "r"),
                integer(c.get("ip"), "ip"),
            )
            rows.append((who, decode_usage(obj(c["u"], "u"), whole=False)))
    host = d.get("u")
    usage = None if host is None else decode_usage(obj(host, "u"), whole=False)
    return Figures(number(d.get("t"), "t"), usage, rows)
