"""`undo`: restore the last changes the journal lists as in effect, newest first."""

from __future__ import annotations

from dataclasses import dataclass

from cgscope.control.errors import InvalidRequest
from cgscope.control.journal import UNDOABLE, Change, Journal
from cgscope.control.writer import CgroupFiles, Writer
from cgscope.errors import NotFound
from cgscope.fs.hostroot import HostRoot


@dataclass(frozen=True)
class Undone:
    change: Change
    problems: tuple[str, ...]  # what was left as it is, and why


def undo(
    host: HostRoot, journal: Journal, count: int = 1, *, files: CgroupFiles | None = None
) -> list[Undone]:
    """Undo the last `count` changes made on this host root that are still in effect (applied, or cut
    short by a crash): move processes back, restore old values, remove the cgroups cgscope made if empty.
    Only what still holds what cgscope wrote is restored; the rest is reported."""
    if count < 1:
        raise InvalidRequest(f"undo {count}: give how many changes to undo (1 or more)")
    writer = Writer(host, files)
    done = []
    with journal.locked():
        pending = [c for c in journal.changes() if c.status in UNDOABLE and c.root == str(host.root)]
        if not pending:
            raise NotFound(f"nothing to undo: {journal.path} lists no change still in effect")
        for change in reversed(pending[-count:]):
            problems = writer.revert(change.steps, change.after, careful=True)
            journal.record_undo(change.id, problems)
            done.append(Undone(change, tuple(problems)))
    return done
