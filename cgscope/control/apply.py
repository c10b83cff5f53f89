"""Applying a plan: confirmation, checks, the journal's record, the writes, and rollback on failure."""

from __future__ import annotations

from collections.abc import Sequence

from cgscope.control.errors import NeedsConfirmation, WriteFailed
from cgscope.control.journal import Change, Journal
from cgscope.control.plan import Plan
from cgscope.control.writer import CgroupFiles, Writer
from cgscope.fs.hostroot import HostRoot


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

    A plan that reaches processes outside its target, or risks reclaim or an OOM kill, needs
    `confirmed`. Every path is checked and every old value read before the journal records the change
    (fsynced), and only then is the first file written: a crash mid-change leaves a record `undo` can
    restore from. `command` is the command line recorded with the change."""
    if plan.needs_confirmation and not confirmed:
        raise NeedsConfirmation(f"nothing changed: {plan.confirmation_reason()}")
    if not plan.steps:
        return None
    writer = Writer(host, files)
    with journal.locked():
        steps = writer.prepare(plan.steps)
        change_id = journal.begin(plan, steps, command, host.root)
        try:
            done, after = writer.apply(steps)
        except WriteFailed as exc:
            journal.finish(
                change_id, "rolled back" if exc.rolled_back else "rollback incomplete", error=str(exc)
            )
            raise
        journal.finish(change_id, "applied", after=after, steps=done)
    return next(c for c in journal.changes() if c.id == change_id)
