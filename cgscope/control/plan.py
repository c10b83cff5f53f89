"""A planned change: the exact steps (directories made, files written, processes moved) and the
processes they affect. Plans are data: the CLI prints them for --dry-run, the dashboard shows them
before asking, the writer performs them and the journal records them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, get_args

from cgscope.model.containers import Container

Op = Literal["mkdir", "write", "enable", "move", "freeze", "signal"]
OPS: tuple[Op, ...] = get_args(Op)
ID_MAX = 2**53  # ids, pids and ticks beyond this are not what cgscope wrote (JSON's exact integers)


@dataclass(frozen=True)
class Step:
    """One kernel operation.

    - mkdir: make the cgroup directory `path`.
    - write: write `value` to the interface file `path`; `old` is what it held (None for a file of a
      cgroup this change makes) and `restore` what puts it back.
    - enable: write "+controller" to `path`, a cgroup.subtree_control (cgroup v2); `restore` is "-controller".
    - move: write `pid` to `path`, the destination's cgroup.procs; the process leaves `source`.
    - freeze: write `value` to freezer.state (v1) or cgroup.freeze (v2) and wait until the kernel
      reports the state reached.
    - signal: send the signal `value` ("TERM") to `pid`, if it is still the process started at
      `start_ticks`; `path` is its /proc directory. A signal cannot be undone.
    """

    op: Op
    hierarchy: str  # "cpu", "memory", "unified", ...
    cgroup: str  # the cgroup acted on (for move: the destination), as /proc/PID/cgroup names it
    path: Path
    value: str = ""
    old: str | None = None
    restore: str | None = None
    pid: int | None = None
    start_ticks: int | None = None  # with pid, the process's identity (pids are reused)
    source: str | None = None  # move: the cgroup the process leaves
    source_path: Path | None = None  # move: that cgroup's cgroup.procs

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "op": self.op,
            "hierarchy": self.hierarchy,
            "cgroup": self.cgroup,
            "path": str(self.path),
        }
        if self.op != "mkdir":
            data["value"] = self.value
        if self.op in ("write", "enable", "freeze"):
            data.update(old=self.old, restore=self.restore)
        if self.op == "move":
            data.update(
                pid=self.pid,
                start_ticks=self.start_ticks,
                source=self.source,
                source_path=str(self.source_path) if self.source_path else None,
            )
        if self.op == "signal":
            data.update(pid=self.pid, start_ticks=self.start_ticks)
        return data

    @classmethod
    def from_json(cls, data: object) -> Step:
        """A step as the journal holds it; ValueError saying what is wrong for anything cgscope would
        not have written (the journal is a file: trust nothing in it)."""
        if not isinstance(data, dict):
            raise ValueError("a step is not an object")
        op = field(data, "op", str)
        if op not in OPS:
            raise ValueError(f"unknown step {op!r}")
        source_path = field(data, "source_path", str, None)
        return cls(
            op=op,
            hierarchy=field(data, "hierarchy", str),
            cgroup=field(data, "cgroup", str),
            path=absolute(field(data, "path", str)),
            value=field(data, "value", str, ""),
            old=field(data, "old", str, None),
            restore=field(data, "restore", str, None),
            pid=whole(data, "pid", None),
            start_ticks=whole(data, "start_ticks", None),
            source=field(data, "source", str, None),
            source_path=absolute(source_path) if source_path else None,
        )

    def with_old(self, old: str | None, restore: str | None) -> Step:
        return replace(self, old=old, restore=restore)


T = TypeVar("T")
_REQUIRED: Any = object()


def field(data: dict[str, Any], key: str, kind: type[T], default: Any = _REQUIRED) -> T:
    """data[key] if it is a `kind` (or null, where the default is None)."""
    if key not in data or (data[key] is None and default is None):
        if default is _REQUIRED:
            raise ValueError(f"no {key!r}")
        return cast(T, default)
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):  # True is an int
        raise ValueError(f"{key!r} holds a {type(value).__name__} where a {kind.__name__} belongs")
    return value


def whole(data: dict[str, Any], key: str, default: Any = _REQUIRED) -> Any:
    """A whole number from 0 to ID_MAX (JSON's 1e400 is a float, and no pid or id)."""
    value = field(data, key, int, default)
    if value is not None and not 0 <= value <= ID_MAX:
        raise ValueError(f"{key!r} is out of range")
    return value


def absolute(text: str) -> Path:
    if not text.startswith("/") or "\0" in text:
        raise ValueError(f"{text!r} is not an absolute path")
    return Path(text)


@dataclass(frozen=True)
class Affected:
    """A process whose limits or cgroup the change alters."""

    pid: int
    command: str
    in_target: bool  # False: a process outside the target that shares a cgroup the change writes


@dataclass(frozen=True)
class Plan:
    action: str  # "limit", "move", "freeze", "thaw", "kill"
    target: str  # "process 1234 (sh)", "container web (runc)"
    target_pids: tuple[int, ...]
    steps: tuple[Step, ...]
    affected: tuple[Affected, ...] = ()
    notes: tuple[str, ...] = ()  # what cgscope decided and why ("made /cgscope-1234 for it")
    warnings: tuple[str, ...] = ()  # risks that need a confirmation ("below current usage: OOM")
    container: Container | None = None  # the container acted on, if the target is one

    @property
    def others(self) -> tuple[Affected, ...]:
        return tuple(a for a in self.affected if not a.in_target)

    @property
    def undoable(self) -> bool:
        """False for a plan that sends a signal: what a signal did cannot be taken back."""
        return all(s.op != "signal" for s in self.steps)

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.others or self.warnings)

    def confirmation_reason(self) -> str:
        """One line: why this plan needs a yes."""
        reasons = list(self.warnings)
        if self.others:
            pids = ", ".join(str(a.pid) for a in self.others[:5])
            more = f" and {len(self.others) - 5} more" if len(self.others) > 5 else ""
            reasons.append(
                f"it also changes {len(self.others)} process(es) outside {self.target} (pid {pids}{more})"
            )
        return "; ".join(reasons)
