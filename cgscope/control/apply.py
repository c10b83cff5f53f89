"""Applying a plan: confirmation, checks, the journal's record, the writes, and rollback on failure."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import replace

from cgscope.control.errors import NeedsConfirmation, WriteFailed
from cgscope.control.files import CgroupFiles
from cgscope.control.journal import Change, Journal, JournalError
from cgscope.control.plan import Plan
from cgscope.control.writer import Writer
from cgscope.fs.hostroot import HostRoot


def review(host: HostRoot, plan: Plan, journal: Journal) -> Plan:
    """The plan with a warning for each change cut short (incomplete) in a cgroup it writes: undo that
    one first, or know that undoing it later leaves alone what this change writes."""
    places = {s.cgroup for s in plan.steps if s.op != "signal"}
    warnings = list(plan.warnings)
    try:
        changes = journal.changes() if places else []
    except JournalError:
        changes = []  # unreadable: applying says so, after what this user may do is checked
    for c in changes:
        shared = sorted({s.cgroup for s in c.steps} & places)
        if c.status != "incomplete" or not c.undoable or c.root != str(host.root) or not shared:
            continue
        warning = (
            f"change {c.id} ({c.action} {c.target}) was cut short in {', '.join(shared)}: 'cgscope history' "
            f"says what it wrote, 'cgscope undo {c.id}' restores it"
        )
        if warning not in warnings:
            warnings.append(warning)
    return replace(plan, warnings=tuple(warnings))


def apply(
    host: HostRoot,
    plan: Plan,
    journal: Journal,
    *,
    command: Sequence[str] = (),
    confirmed: bool = False,
    files: CgroupFiles | None = None,
) -> Change | None:
    """Apply `plan`, all or nothing, and return its journal entry (None if there was nothing to write).

    A plan that reaches processes outside its target, risks reclaim or an OOM kill, or writes where a
    change was cut short, needs `confirmed`. What this user may not do is refused before the journal is
    touched. Every path is checked and every old value read before the journal records the change
    (fsynced), and only then is the first file written; each step done is recorded before the next
    begins. Nothing is changed that the journal could not record: a crash mid-change leaves a record
    `undo` can restore from. `command` is the command line recorded with the change."""
    plan = review(host, plan, journal)
    if plan.needs_confirmation and not confirmed:
        raise NeedsConfirmation(f"nothing changed: {plan.confirmation_reason()}")
    if not plan.steps:
        return None
    writer = Writer(host, files)
    writer.check_permitted(plan.steps, plan.action)
    with journal.locked():
        steps = writer.prepare(plan.steps)
        try:
            change_id = journal.begin(plan, steps, command, host.root)
        except JournalError as exc:
            raise JournalError(f"{exc}: nothing changed (free space there, or set CGSCOPE_STATE)") from None
        try:
            done, after = writer.apply(steps, lambda i, step, read: journal.step(change_id, i, step, read))
        except WriteFailed as exc:
            with contextlib.suppress(JournalError):  # its steps are recorded: it reads as incomplete
                journal.finish(
                    change_id, "rolled back" if exc.rolled_back else "rollback incomplete", error=str(exc)
                )
            raise
        with contextlib.suppress(JournalError):  # every step is recorded: it reads as applied anyway
            journal.finish(change_id, "applied", after=after, steps=done)
    return journal.change(change_id)
