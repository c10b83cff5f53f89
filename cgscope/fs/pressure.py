"""Pressure stall information (Documentation/accounting/psi.rst): a cgroup2 directory's cpu.pressure,
memory.pressure and io.pressure, or the host's /proc/pressure/{cpu,memory,io}."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import InvalidFormat
from cgscope.fs.files import StrPath, child, read_optional
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.parse import decimal, integer

PRESSURE_KINDS = ("cpu", "memory", "io")
_IN_CGROUP = ".pressure"  # a cgroup2 directory's cpu.pressure; /proc/pressure/cpu has no suffix
# The kernel computes the averages every 2 s (PSI_FREQ, kernel/sched/psi.c): read more often, a cgroup's
# avg10, avg60 and avg300 would be what the last read said.
PSI_SECONDS = 2.0
_FIELDS = ("avg10", "avg60", "avg300", "total")
_AVG = r"([0-9]{1,20}(?:\.[0-9]{1,9})?)"  # what parse.decimal takes
_LINE = rf"avg10={_AVG} avg60={_AVG} avg300={_AVG} total=([0-9]{{1,19}})"
_AS_PRINTED = re.compile(rf"some {_LINE}\n(?:full {_LINE}\n)?", re.ASCII)


@dataclass(frozen=True, slots=True)
class PressureLine:
    avg10: float  # % of the last 10 s in which tasks stalled
    avg60: float
    avg300: float
    total_us: int


@dataclass(frozen=True, slots=True)
class Pressure:
    """A PSI file: "some" tasks stalled, or "full": all of them."""

    some: PressureLine
    full: PressureLine | None  # cpu.pressure had no "full" line before Linux 5.13


def pressure(text: str, path: StrPath) -> Pressure:
    """ "some avg10=0.00 avg60=0.00 avg300=0.00 total=0", then the same for "full"."""
    found = _AS_PRINTED.fullmatch(text)
    if found is not None:  # as psi_show() prints it (kernel/sched/psi.c): one match, no line split
        g = found.groups()
        some = PressureLine(float(g[0]), float(g[1]), float(g[2]), int(g[3]))
        full = None if g[4] is None else PressureLine(float(g[4]), float(g[5]), float(g[6]), int(g[7]))
        return Pressure(some, full)
    lines: dict[str, PressureLine] = {}
    for line in text.splitlines():
        kind, *fields = line.split(" ")
        values = {key: value for key, _, value in (f.partition("=") for f in fields)}
        if kind not in ("some", "full") or sorted(values) != sorted(_FIELDS):
            raise InvalidFormat(path, line)
        lines[kind] = PressureLine(
            decimal(values["avg10"], path, line),
            decimal(values["avg60"], path, line),
            decimal(values["avg300"], path, line),
            integer(values["total"], path, line),
        )
    if "some" not in lines:
        raise InvalidFormat(path, None, "no 'some' line")
    return Pressure(lines["some"], lines.get("full"))


def read_pressure(directory: Path, suffix: str = _IN_CGROUP) -> dict[str, Pressure]:
    """The PSI files the kernel offers in `directory`: kinds it does not offer (or PSI off) are left out."""
    return _parsed(directory, suffix, _texts(directory, suffix))


def _texts(directory: Path, suffix: str) -> tuple[str | None, ...]:
    """The text of each of PRESSURE_KINDS' files, None where there is none."""
    return tuple(read_optional(child(directory, f"{kind}{suffix}"), whole=True) for kind in PRESSURE_KINDS)


def _parsed(directory: Path, suffix: str, texts: tuple[str | None, ...]) -> dict[str, Pressure]:
    return {
        kind: pressure(text, child(directory, f"{kind}{suffix}"))
        for kind, text in zip(PRESSURE_KINDS, texts, strict=True)
        if text
    }


def read_host_pressure(host: HostRoot) -> dict[str, Pressure]:
    """/proc/pressure/*, or nothing on a kernel without PSI (no /proc/pressure)."""
    directory = host.path("/proc/pressure")
    return read_pressure(directory, "") if directory.is_dir() else {}


class KeptPressure:
    """Each cgroup's PSI read again once `seconds` old (PSI_SECONDS on the live kernel; a fixture's
    files change when they are written), for a caller that refreshes more often and shows the averages
    (their `total_us` is as old as they are). Files that read as they did the last time are not parsed
    again: an idle cgroup (a pod's pause container, a sleeping service) prints the same text each time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        # directory -> (monotonic when read, its PSI, the texts it was parsed from)
        self._read: dict[Path, tuple[float, dict[str, Pressure], tuple[str | None, ...]]] = {}
        self._pruned_at = time.monotonic()

    def read(self, directory: Path) -> dict[str, Pressure]:
        now = time.monotonic()
        kept = self._read.get(directory)
        if kept is not None and now - kept[0] < self.seconds:
            return kept[1]
        if now - self._pruned_at >= 10 * self.seconds:  # cgroups no more read (removed, not shown)
            self._read = {d: k for d, k in self._read.items() if now - k[0] < 10 * self.seconds}
            self._pruned_at = now
        texts = _texts(directory, _IN_CGROUP)
        psi = kept[1] if kept is not None and kept[2] == texts else _parsed(directory, _IN_CGROUP, texts)
        self._read[directory] = (now, psi, texts)
        return psi
