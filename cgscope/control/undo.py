"""`undo`: restore changes the journal lists as in effect — the last one, one by its id, or the last N —
newest first; or, as a dry run, say what would be restored."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from cgscope.control.errors import InvalidRequest
from cgscope.control.files import CgroupFiles
from cgscope.control.journal import Change, Journal, JournalError
from cgscope.control.revert import Reverter, paths_written
from cgscope.errors import NotFound
from cgscope.fs.hostroot import HostRoot


@dataclass(frozen=True)
class Undone:
    change: Change
    problems: tuple[str, ...]  # what was (or would be) left as it is, and why
    actions: tuple[str, ...] = ()  # what was (or would be) done, one line each


def choose(
    journal: Journal, changes: Sequence[Change], root: str, change_id: int | None, last: int | None
) -> list[Change]:
    """The changes to undo, newest first: the last one in effect on this host root, the one `change_id`
    names, or the `last` N in effect."""
    pending = [c for c in changes if c.undoable and c.root == root]
    if change_id is not None:
        return [_named(journal, changes, root, change_id)]
    count = 1 if last is None else last
    if count < 1:
        raise InvalidRequest(f"undo --last {count}: give how many changes to undo (1 or more)")
    if not pending:
        raise NotFound(f"nothing to undo: {journal.path} lists no change still in effect")
    if count > len(pending):
        ids = ", ".join(str(c.id) for c in reversed(pending))
        raise InvalidRequest(
            f"undo --last {count}: only {len(pending)} change(s) are in effect (ids {ids}): give --last "
            f"{len(pending)}"
        )
    return list(reversed(pending[-count:]))


def _named(journal: Journal, changes: Sequence[Change], root: str, change_id: int) -> Change:
    found = next((c for c in changes if c.id == change_id), None)
    if found is None:
        ids = f"ids {changes[0].id} to {changes[-1].id}" if changes else "no change"
        raise NotFound(f"no change {change_id} in {journal.path} ('cgscope history' lists {ids})")
    if found.root != root:
        raise InvalidRequest(f"change {change_id} was made under the host root {found.root}, not {root}")
    if any(s.op == "signal" for s in found.steps):
        signal = next(s for s in found.steps if s.op == "signal")
        raise InvalidRequest(
            f"change {change_id} sent SIG{signal.value} to process {signal.pid}: a signal cannot be undone"
        )
    if found.status == "undone":
        when = (found.undone or {}).get("time", "?")
        raise InvalidRequest(f"change {change_id} is undone already (at {when})")
    if found.status == "rolled back":
        raise InvalidRequest(f"change {change_id} was rolled back when it failed: nothing of it is in effect")
    return found


def undo(
    host: HostRoot,
    journal: Journal,
    *,
    change_id: int | None = None,
    last: int | None = None,
    dry_run: bool = False,
    files: CgroupFiles | None = None,
) -> list[Undone]:
    """Undo the changes `choose` picks: move processes back, restore old values, remove the cgroups
    cgscope made if empty. Only what still holds what cgscope wrote is restored; the rest is reported.
    What this user may not write is refused before anything changes, the journal included."""
    files = files or CgroupFiles()
    done = []
    root = str(host.root)
    choose(journal, journal.changes(), root, change_id, last)  # refused without touching the journal
    with contextlib.nullcontext() if dry_run else journal.locked():
        chosen = choose(journal, journal.changes(), root, change_id, last)  # as it is once locked
        for change in chosen if not dry_run else ():
            _check_permitted(host, files, change)
        for change in chosen:
            result = Reverter(host, files, dry_run=dry_run).revert(
                change.steps, change.after, change.written, careful=True
            )
            if not dry_run:
                try:
                    journal.record_undo(change.id, result.problems)
                except JournalError as exc:
                    raise JournalError(
                        f"undid change {change.id}, but {exc}: history still lists it in effect "
                        "(undoing it again is harmless)"
                    ) from None
            done.append(Undone(change, tuple(result.problems), tuple(result.actions)))
    return done


def _check_permitted(host: HostRoot, files: CgroupFiles, change: Change) -> None:
    for path in paths_written(change.steps, change.written):
        if not files.writable(path):
            raise InvalidRequest(
                f"undoing change {change.id} needs root: {host.shown(path)} is not writable for this user "
                "(permission denied); nothing changed"
            )
