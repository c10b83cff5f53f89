"""A cgroup's tasks against its pids.max (cgroup-v2.rst "PID", cgroup-v1/pids.rst: the same files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cgscope.fs.files import read_optional
from cgscope.fs.parse import limit_value, single_integer


@dataclass(frozen=True, slots=True)
class PidsCounters:
    current: int  # tasks (threads) in the cgroup and below
    max: int | None


def read_pids_current(directory: Path) -> int | None:
    """pids.current: tasks (threads) in the cgroup and below; None where the pids controller is off."""
    path = directory / "pids.current"
    text = read_optional(path)
    return None if text is None else single_integer(text, path)


def read_pids_max(directory: Path) -> int | None:
    """pids.max; None for no limit ("max") or no pids controller."""
    path = directory / "pids.max"
    text = read_optional(path)
    return None if text is None else limit_value(text, path)
