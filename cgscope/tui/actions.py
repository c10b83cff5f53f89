"""What the dashboard's change keys act on, and the one way they reach the control layer.

The dashboard never writes a file itself: forms parse and plan with cgscope.control (so they refuse
what the CLI refuses, with its one-line messages), show the plan's exact writes, and hand the confirmed
plan to `Controls.apply`, which journals it like `cgscope limit|move|freeze|kill` does. Undo is
previewed (a dry run) before `Controls.undo` restores the change previewed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from cgscope.control import apply as applying
from cgscope.control import freeze, kill, limits, move, request, target, undo
from cgscope.control.files import CgroupFiles
from cgscope.control.journal import Change, Journal
from cgscope.control.plan import Plan
from cgscope.fs.hostroot import HostRoot
from cgscope.model.containers import Container
from cgscope.model.process import Process

# The limit form's fields, in the order of `cgscope limit`'s options: each its option's entry.
LIMIT_FIELDS = tuple(option for option in request.LIMIT_OPTIONS if option.form)


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


def filled(values: Mapping[str, str]) -> dict[str, str]:
    """The limit form's fields that hold something (by option dest): an empty one is left as it is."""
    return {dest: text for dest, text in values.items() if text.strip()}


def limit_request(values: Mapping[str, str]) -> request.LimitRequest:
    """The limit form's fields as `cgscope limit`'s options (InvalidRequest as the CLI's)."""
    return request.parse_request(clear=False, **filled(values))


def limit_command(selection: Selection, values: Mapping[str, str]) -> list[str]:
    """The command line the journal records, as if `cgscope limit` had been typed."""
    return request.command_line(selection.ref, filled(values))


def kill_command(selection: Selection, signal: str) -> list[str]:
    return ["kill", str(selection.pid), "-s", signal]


class Controls:
    """The control layer on one host root; `files` replaces the kernel calls on a fixture tree.

    Every method reads the host (or the journal) and may wait on the kernel: call them from a worker."""

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

    def _reviewed(self, plan: Plan) -> Plan:
        return applying.review(self.host, plan, self.journal)

    def plan_limit(self, selection: Selection, values: Mapping[str, str]) -> Plan:
        req = limit_request(values)
        found = target.resolve(self.host, selection.ref, containers=selection.kind == "container")
        return self._reviewed(limits.plan_limit(self.host, found, req))

    def plan_move(self, selection: Selection, cgroup: str, *, create: bool) -> Plan:
        return self._reviewed(move.plan_move(self.host, str(selection.pid), cgroup, create=create))

    def plan_freeze_toggle(self, selection: Selection) -> Plan:
        """Freeze the container, or thaw it when it is frozen already."""
        plan = freeze.plan_freeze(self.host, selection.ref, True)
        if not plan.steps:
            plan = freeze.plan_freeze(self.host, selection.ref, False)
        return self._reviewed(plan)

    def plan_kill(self, selection: Selection, signal: str) -> Plan:
        """Send `signal` (one of kill.SIGNALS) to the selected process; a container's init when a
        container is selected."""
        return kill.plan_kill(self.host, str(selection.pid), kill.parse_signal(signal))

    def apply(self, plan: Plan, command: Sequence[str]) -> Change | None:
        """Apply a plan the user confirmed after seeing its writes and whom they reach."""
        return applying.apply(
            self.host, plan, self.journal, command=command, confirmed=True, files=self.files
        )

    def preview_undo(self, change_id: int | None = None) -> list[undo.Undone]:
        """What undoing the last change in effect (or `change_id`) would restore: a dry run."""
        return undo.undo(self.host, self.journal, change_id=change_id, dry_run=True, files=self.files)

    def undo(self, change_id: int | None = None) -> list[undo.Undone]:
        return undo.undo(self.host, self.journal, change_id=change_id, files=self.files)
