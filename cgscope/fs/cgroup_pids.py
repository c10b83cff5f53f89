"""A cgroup's tasks against its pids.max (cgroup-v2.rst "PID", cgroup-v1/pids.rst: the same files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cgscope.fs.cgfile import optional_limit, optional_number
from cgscope.fs.files import child


@dataclass(frozen=True, slots=True)
class PidsCounters:
    current: int  # tasks (threads) in the cgroup and below
    max: int | None


def read_pids_current(directory: Path) -> int | None:
    """pids.current: tasks (threads) in the cgroup and below; None where the pids controller is off."""
    return optional_number(child(directory, "pids.current"))


def read_pids_max(directory: Path) -> int | None:
    """pids.max; None for no limit ("max") or no pids controller."""
    return optional_limit(child(directory, "pids.max"))
