"""Changes as people and scripts see them: a plan's exact writes, the journal's history, undo results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cgscope.control.journal import Change
from cgscope.control.plan import Plan, Step
from cgscope.control.undo import Undone
from cgscope.fs.hostroot import HostRoot
from cgscope.render.table import Column, Table, visible
from cgscope.render.views import container_ref


def _quoted(value: str) -> str:
    return repr(value) if value == "" or " " in value or "\n" in value else value


def step_line(step: Step, host: HostRoot) -> str:
    """One step as the system call it makes: "mkdir DIR" or "write FILE = VALUE", with what it means."""
    path = host.shown(step.path)
    if step.op == "mkdir":
        return f"mkdir {path}"
    if step.op == "signal":
        same = f"if it is still the process started at tick {step.start_ticks}"
        return f"kill {step.pid} with SIG{step.value}   ({same})"
    line = f"write {path} = {_quoted(step.value)}"
    if step.op == "move":
        return f"{line}   (moves process {step.pid} from {step.source})"
    if step.op == "enable":
        return f"{line}   (gives the cgroups below the {step.value[1:]} controller)"
    if step.old is not None and step.old != step.value:
        line += f"   (was {_quoted(step.old)})"
    if step.op == "freeze":
        line += ", then waits until the kernel reports it"
    return line


def plan_lines(plan: Plan, host: HostRoot, heading: str) -> list[str]:
    lines = [f"{heading}:"]
    lines += [f"  * {note}" for note in plan.notes]
    lines += [f"  {step_line(s, host)}" for s in plan.steps]
    inside = [a for a in plan.affected if a.in_target]
    if inside:
        lines.append("processes affected:")
        lines += [f"  {a.pid:>7}  {a.command}" for a in inside]
    if plan.others:
        lines.append(f"processes outside {plan.target} that this also changes:")
        lines += [f"  {a.pid:>7}  {a.command}" for a in plan.others]
    lines += [f"warning: {w}" for w in plan.warnings]
    return [visible(line) for line in lines]  # targets, cgroup paths and commands are the host's


def plan_json(plan: Plan, *, dry_run: bool, change: Change | None) -> dict[str, Any]:
    """`limit|move|freeze|thaw --json`: the plan, and the journal's id once applied."""
    return {
        "action": plan.action,
        "target": plan.target,
        "container": container_ref(plan.container) if plan.container is not None else None,
        "target_pids": list(plan.target_pids),
        "dry_run": dry_run,
        "change_id": change.id if change is not None else None,
        "steps": change.to_json()["steps"] if change is not None else [s.to_json() for s in plan.steps],
        "affected": [{"pid": a.pid, "command": a.command, "in_target": a.in_target} for a in plan.affected],
        "notes": list(plan.notes),
        "warnings": list(plan.warnings),
    }


def _summary(step: Step) -> str:
    where = f"{step.hierarchy}:{step.cgroup}"
    if step.op == "signal":
        return f"SIG{step.value} to process {step.pid} (cannot be undone)"
    if step.op == "mkdir":
        return f"mkdir {where}"
    if step.op == "move":
        return f"move {step.pid} {step.source} -> {step.cgroup} ({step.hierarchy})"
    if step.op == "enable":
        return f"{step.value} in {where}"
    return f"{where}/{step.path.name}={_quoted(step.value)}"


def history_table(changes: Sequence[Change]) -> Table:
    table = Table(
        [
            Column("ID", "right"),
            Column("TIME"),
            Column("USER"),
            Column("ACTION"),
            Column("TARGET"),
            Column("STATUS"),
            Column("CHANGES", wrap=True),
        ]
    )
    for c in changes:
        table.add(c.id, c.time[:19].replace("T", " "), c.user, c.action, c.target, c.status, _changes(c))
    return table


def _changes(change: Change) -> str:
    if change.status == "incomplete":
        text = _cut_short(change)
    else:
        text = "; ".join(_summary(s) for s in change.steps)
    if change.error:
        text += f" [{change.error}]"
    return text


def _cut_short(change: Change) -> str:
    """What an incomplete change did and did not write, and the way back."""
    parts = []
    for label, known in (("wrote", True), ("may have written", None), ("did not write", False)):
        steps = [s for s, was in zip(change.steps, change.written, strict=True) if was is known]
        if steps:
            parts.append(f"{label}: {'; '.join(_summary(s) for s in steps)}")
    return f"cut short — {' — '.join(parts)} — 'cgscope undo {change.id}' restores what it wrote"


def history_json(journal: Path, changes: Sequence[Change], skipped: Sequence[str] = ()) -> dict[str, Any]:
    return {"journal": str(journal), "changes": [c.to_json() for c in changes], "skipped": list(skipped)}


def undone_lines(undone: Sequence[Undone], *, dry_run: bool = False) -> list[str]:
    lines = []
    for u in undone:
        what = f"change {u.change.id}: {u.change.action} {u.change.target}"
        if dry_run:
            lines.append(f"cgscope would undo {what}:")
            lines += [f"  {a}" for a in u.actions] or ["  nothing to write: it holds what it held before"]
        else:
            lines.append(f"undid {what}")
        lines += [f"  left as is: {p}" for p in u.problems]
    return [visible(line) for line in lines]


def undone_json(undone: Sequence[Undone], *, dry_run: bool = False) -> dict[str, Any]:
    return {
        "dry_run": dry_run,
        "undone": [
            {"id": u.change.id, "actions": list(u.actions), "problems": list(u.problems)} for u in undone
        ],
    }
