"""Reverting steps: the rollback of a failed change, and `undo` long after, or its dry run.

Order: moves back, old values restored, made cgroups removed (deepest first), enabled controllers
disabled (bottom up). A careful revert (undo) touches only what still holds what cgscope left there.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cgscope.control.errors import InvalidRequest
from cgscope.control.explain import reason
from cgscope.control.files import CgroupFiles
from cgscope.control.paths import check_cgroup_dir, check_file
from cgscope.control.plan import Step
from cgscope.errors import AccessDenied, CgscopeError, ProcessGone
from cgscope.fs import procfs
from cgscope.fs.controlfiles import child_cgroups
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import UNIFIED


@dataclass
class Reverted:
    actions: list[str] = field(default_factory=list)  # what was (or would be) done, one line each
    problems: list[str] = field(default_factory=list)  # what was left as it is, and why


@dataclass(frozen=True)
class _Todo:
    step: Step
    after: str | None  # what its file read back once written; None: not known
    written: bool | None  # None: cgscope stopped while writing it


class Reverter:
    def __init__(self, host: HostRoot, files: CgroupFiles, *, dry_run: bool = False) -> None:
        self.host, self.files, self.dry_run = host, files, dry_run
        self.done = Reverted()

    def revert(
        self,
        steps: Sequence[Step],
        after: Sequence[str | None] | None = None,
        written: Sequence[bool | None] | None = None,
        *,
        careful: bool,
    ) -> Reverted:
        """Undo the steps written (`written`: per step True, False, or None for not known).

        `careful` (undo, possibly long after): move back only a process that is still the same one
        (pid and start time) and still in the cgroup cgscope put it in, and restore only a file that
        still holds what cgscope wrote (`after`; for a step not known to be written, the value it was
        writing). A rollback right after a failure restores as is."""
        afters = list(after) if after is not None else [None] * len(steps)
        known = list(written) if written is not None else [True] * len(steps)
        todo = []
        for step, read_back, was in zip(steps, afters, known, strict=True):
            unsafe = self._unsafe(step) if was is not False else None
            if unsafe:
                self.done.problems.append(unsafe)
            elif was is not False:
                todo.append(_Todo(step, read_back, was))
        made = {t.step.path for t in todo if t.step.op == "mkdir"}
        for t in reversed(todo):
            if t.step.op == "move":
                self._move_back(t.step, careful)
            elif t.step.op == "signal":
                self.done.problems.append(
                    f"process {t.step.pid} got SIG{t.step.value}: a signal cannot be undone"
                )
        for t in reversed(todo):
            if t.step.op in ("write", "freeze") and t.step.path.parent not in made:
                self._restore(t, careful)
        for t in sorted(todo, key=lambda t: len(t.step.path.parts), reverse=True):
            if t.step.op == "mkdir":
                self._remove(t.step.path)
        for t in reversed(todo):
            if t.step.op == "enable":
                self._disable(t.step, made)
        return self.done

    def _say(self, action: str) -> bool:
        """Note an action; True when it is to be performed (not a dry run)."""
        self.done.actions.append(action)
        return not self.dry_run

    def _unsafe(self, step: Step) -> str | None:
        """Why a recorded step may not be reverted (the journal is a file: check its paths again)."""
        try:
            if step.op == "mkdir":
                check_cgroup_dir(self.host, step.path)
            elif step.op != "signal":
                check_file(self.host, step.path)
            if step.source_path is not None:
                check_file(self.host, step.source_path)
        except InvalidRequest as exc:
            return f"skipped: {exc}"
        return None

    def _move_back(self, step: Step, careful: bool) -> None:
        assert step.pid is not None and step.source_path is not None
        pid = step.pid
        if careful:
            try:
                stat = procfs.read_stat(self.host.proc, pid)
                where = dict(procfs.read_cgroup(self.host.proc, pid))
            except (ProcessGone, AccessDenied):
                return  # gone: nothing to move back
            if step.start_ticks is not None and stat.start_ticks != step.start_ticks:
                return  # the pid now names another process
            now = where.get("" if step.hierarchy == UNIFIED else step.hierarchy)
            if now == step.source:
                return  # never moved, or back already
            if now != step.cgroup:
                self.done.problems.append(
                    f"process {pid} has moved to {step.hierarchy}:{now} since: left there"
                )
                return
        if not step.source_path.parent.is_dir():
            self.done.problems.append(
                f"process {pid} stays in {step.hierarchy}:{step.cgroup}: {step.source} no longer exists"
            )
            return
        if not self._say(f"move process {pid} back to {step.hierarchy}:{step.source}"):
            return
        try:
            self.files.write(step.source_path, str(pid))
        except OSError as exc:
            if exc.errno != errno.ESRCH:
                self.done.problems.append(
                    f"moving process {pid} back to {step.hierarchy}:{step.source}: {reason(exc)}"
                )

    def _restore(self, todo: _Todo, careful: bool) -> None:
        step = todo.step
        shown = self.host.shown(step.path)
        if step.restore is None or not step.path.exists():
            return
        try:
            now = self.files.read(step.path) if careful or self.dry_run else None
            if careful:
                left = _changed_since(step, todo, now)
                if left == "":
                    return
                if left is not None:
                    self.done.problems.append(f"{shown} {left}: left as is")
                    return
            was = f"   (holds {now!r})" if now is not None else ""
            if not self._say(f"write {shown} = {step.restore!r}{was}"):
                return
            self.files.write(step.path, step.restore)
            if step.op == "freeze":
                self.files.wait_frozen(step.path, step.restore)
        except (OSError, TimeoutError, CgscopeError) as exc:
            self.done.problems.append(f"restoring {shown} to {step.restore!r}: {reason(exc)}")

    def _remove(self, path: Path) -> None:
        """rmdir a cgroup cgscope made, retrying a moment while exiting tasks still count in it."""
        if not path.is_dir() or not self._say(f"rmdir {self.host.shown(path)}"):
            return
        deadline = time.monotonic() + 1.0
        while True:
            try:
                self.files.rmdir(path)
                return
            except FileNotFoundError:
                return
            except OSError as exc:
                if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                    why = "it holds processes or cgroups" if exc.errno == errno.EBUSY else reason(exc)
                    self.done.problems.append(f"left {self.host.shown(path)} in place: {why}")
                    return
            time.sleep(0.02)

    def _disable(self, step: Step, made: set[Path]) -> None:
        directory = step.path.parent
        if not directory.is_dir() or step.restore is None:
            return
        shown = self.host.shown(step.path)
        try:
            if set(child_cgroups(directory)) - (made if self.dry_run else set()):
                self.done.problems.append(f"left {step.value} in {shown}: other cgroups below may use it")
                return
            if self._say(f"write {shown} = {step.restore}"):
                self.files.write(step.path, step.restore)
        except (OSError, CgscopeError) as exc:
            self.done.problems.append(f"writing {step.restore} to {shown}: {reason(exc)}")


def _changed_since(step: Step, todo: _Todo, now: str | None) -> str | None:
    """Why undo leaves the file alone ("" when it holds its old value already), or None to restore it."""
    if now == step.old:
        return ""
    if todo.written is None:  # cgscope stopped while writing it: restore only what it was writing
        if now != step.value:
            return f"holds {now!r}, neither its old {step.old!r} nor the {step.value!r} cgscope was writing"
        return None
    if todo.after is not None and now != todo.after:
        return f"was changed since (it holds {now!r}, cgscope wrote {todo.after!r})"
    return None


def paths_written(steps: Sequence[Step], written: Sequence[bool | None]) -> list[Path]:
    """What reverting the steps may write: files restored, cgroup.procs moved back to, parents of cgroups
    removed."""
    out = []
    for step, was in zip(steps, written, strict=True):
        if was is False or step.op == "signal":
            continue
        if step.op == "mkdir":
            out.append(step.path.parent)
        elif step.op == "move" and step.source_path is not None:
            out.append(step.source_path)
        else:
            out.append(step.path)
    return [p for p in out if os.path.lexists(p)]
