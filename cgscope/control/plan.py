"""A planned change: the exact steps (directories made, files written, processes moved) and the
processes they affect. Plans are data: the CLI prints them for --dry-run, the dashboard shows them
before asking, the writer performs them and the journal records them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from cgscope.model.containers import Container

Op = Literal["mkdir", "write", "enable", "move", "freeze"]


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
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        source_path = data.get("source_path")
        return cls(
            op=data["op"],
            hierarchy=data["hierarchy"],
            cgroup=data["cgroup"],
            path=Path(data["path"]),
            value=data.get("value", ""),
            old=data.get("old"),
            restore=data.get("restore"),
            pid=data.get("pid"),
            start_ticks=data.get("start_ticks"),
            source=data.get("source"),
            source_path=Path(source_path) if source_path else None,
        )

    def with_old(self, old: str | None, restore: str | None) -> Step:
        return replace(self, old=old, restore=restore)


@dataclass(frozen=True)
class Affected:
    """A process whose limits or cgroup the change alters."""

    pid: int
    command: str
    in_target: bool  # False: a process outside the target that shares a cgroup the change writes


@dataclass(frozen=True)
class Plan:
    action: str  # "limit", "move", "freeze", "thaw"
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
