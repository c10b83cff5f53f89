"""What the dashboard's change keys act on, and the one way they reach the control layer.

The dashboard never writes a file itself: forms parse and plan with cgscope.control (so they refuse
what the CLI refuses, with its one-line messages), show the plan's exact writes, and hand the confirmed
plan to `Controls.apply`, which journals it like `cgscope limit|move|freeze` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from cgscope.control import apply as applying
from cgscope.control import freeze, limits, move, request, target, undo
from cgscope.control.journal import Change, Journal
from cgscope.control.plan import Plan
from cgscope.control.writer import CgroupFiles
from cgscope.fs.hostroot import HostRoot
from cgscope.model.containers import Container
from cgscope.model.process import Process

# The limit form's fields: (request field, the CLI's option, an example). Their messages are the CLI's.
LIMIT_FIELDS = (
    ("cpu", "--cpu", "20% of one CPU, 1.5 CPUs, or max"),
    ("memory", "--memory", "256M, 1.5G, or max"),
    ("memory_swap", "--memory-swap", "memory + swap: 512M, or max"),
    ("pids", "--pids", "most tasks at once: 100, or max"),
    ("cpuset", "--cpuset", "CPUs it may run on: 0-1, or max"),
    ("cpu_weight", "--cpu-weight", "1-10000 (default 100)"),
)


@dataclass(frozen=True)
class Selection:
    """What a change key acts on: a container (by id) or one process (by pid)."""

    kind: Literal["container", "process"]
    ref: str  # the container's id, or the pid
    pid: int  # the process, or the container's init
    label: str  # "container web", "process 1020"

    @classmethod
    def of_container(cls, c: Container) -> Selection:
        return cls("container", c.id, c.init_pid, f"container {c.name}")

    @classmethod
    def of_process(cls, p: Process) -> Selection:
        return cls("process", str(p.pid), p.pid, f"process {p.pid} ({p.comm})")


def limit_request(values: Mapping[str, str]) -> request.LimitRequest:
    """The limit form's non-empty fields as `cgscope limit`'s options (InvalidRequest as the CLI's)."""
    given = {name: text.strip() or None for name, text in values.items()}
    return request.parse_request(
        cpu=given.get("cpu"),
        memory=given.get("memory"),
        memory_swap=given.get("memory_swap"),
        pids=given.get("pids"),
        cpuset=given.get("cpuset"),
        cpu_weight=given.get("cpu_weight"),
    )


def limit_command(selection: Selection, values: Mapping[str, str]) -> list[str]:
    """The command line the journal records, as if `cgscope limit` had been typed."""
    command = ["limit", selection.ref]
    for name, option, _ in LIMIT_FIELDS:
        text = values.get(name, "").strip()
        if text:
            command += [option, text]
    return command


class Controls:
    """The control layer on one host root; `files` replaces the kernel calls on a fixture tree."""

    def __init__(
        self, host: HostRoot, *, journal: Journal | None = None, files: CgroupFiles | None = None
    ) -> None:
        self.host = host
        self._journal = journal
        self.files = files

    @property
    def journal(self) -> Journal:
        """The journal the CLI uses ($CGSCOPE_STATE, read when a change is made), unless one was given."""
        return self._journal if self._journal is not None else Journal.default()

    def plan_limit(self, selection: Selection, values: Mapping[str, str]) -> Plan:
        req = limit_request(values)
        found = target.resolve(self.host, selection.ref, containers=selection.kind == "container")
        return limits.plan_limit(self.host, found, req)

    def plan_move(self, selection: Selection, cgroup: str, *, create: bool) -> Plan:
        return move.plan_move(self.host, str(selection.pid), cgroup, create=create)

    def plan_freeze_toggle(self, selection: Selection) -> Plan:
        """Freeze the container, or thaw it when it is frozen already."""
        plan = freeze.plan_freeze(self.host, selection.ref, True)
        return plan if plan.steps else freeze.plan_freeze(self.host, selection.ref, False)

    def apply(self, plan: Plan, command: Sequence[str]) -> Change | None:
        """Apply a plan the user confirmed after seeing its writes and whom they reach."""
        return applying.apply(
            self.host, plan, self.journal, command=command, confirmed=True, files=self.files
        )

    def undo(self) -> list[undo.Undone]:
        return undo.undo(self.host, self.journal, 1, files=self.files)
