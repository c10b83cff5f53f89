"""The one place that changes the system: checks every path of a change, records the old values, applies
the steps in the order given, and on any failure rolls back what was already written (revert.py).

The planners order the steps the way the kernel accepts them (directories, then controllers enabled from
the top down, then limits, then moves). Every system call goes through files.CgroupFiles.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from cgscope.control import kill
from cgscope.control.errors import InvalidRequest, WriteFailed
from cgscope.control.explain import MISSING_FILE, explain
from cgscope.control.files import CgroupFiles
from cgscope.control.paths import check_cgroup_dir, check_file
from cgscope.control.plan import Step
from cgscope.control.revert import Reverter
from cgscope.errors import CgscopeError, ProcessGone
from cgscope.fs.hostroot import HostRoot

# Called after each step is done, with its index, the step (old value read by then) and its read-back.
Progress = Callable[[int, Step, "str | None"], None]


class _HalfDone(Exception):
    """A freeze written whose state the kernel did not reach: some tasks are frozen."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def restore_value(path: Path, value: str, old: str) -> str:
    """What to write to `path` to undo writing `value` over `old`. Files keyed by device hold one line
    per device: only the line written is restored (absent means "no limit")."""
    name = path.name
    if name in ("io.max", "io.weight") or name.startswith("blkio.throttle."):
        key = value.split(maxsplit=1)[0]  # "MAJ:MIN", or "default" for io.weight
        line = next((ln for ln in old.splitlines() if ln.split()[:1] == [key]), None)
        if line is not None:
            return line
        if name == "io.max":
            return f"{key} rbps=max wbps=max riops=max wiops=max"
        if name == "io.weight":
            return "default 100" if key == "default" else f"{key} default"
        return f"{key} 0"  # blkio.throttle.*: 0 removes the device's limit (cgroup-v1/blkio-controller.rst)
    if name == "freezer.state":  # FREEZING is a passing state, not one to write back
        return "FROZEN" if old == "FROZEN" else "THAWED"
    return old


class Writer:
    def __init__(self, host: HostRoot, files: CgroupFiles | None = None) -> None:
        self.host = host
        self.files = files or CgroupFiles()

    # -- before: checks and old values ---------------------------------------------------------------

    def prepare(self, steps: Sequence[Step]) -> tuple[Step, ...]:
        """Check every path of the change, then read the current value of every file it writes: the
        old values recorded for rollback and undo. Raises InvalidRequest before anything is written.
        A file of a cgroup the change makes, or of a controller it enables, does not exist yet: its old
        value is read when it is written (apply)."""
        made: set[Path] = set()
        enabling: set[tuple[Path, str]] = set()
        out = []
        for planned in steps:
            self.check(planned, made)
            step = planned
            if step.op == "mkdir":
                made.add(step.path)
            elif step.op == "enable":
                enabling.add((step.path.parent, step.value[1:]))
                step = step.with_old(None, "-" + step.value[1:])
            elif step.op in ("write", "freeze") and not self._brought_in(step, made, enabling):
                old = self._read_existing(step.path)
                step = step.with_old(old, restore_value(step.path, step.value, old))
            out.append(step)
        return tuple(out)

    @staticmethod
    def _brought_in(step: Step, made: set[Path], enabling: set[tuple[Path, str]]) -> bool:
        """True for a file that appears during the change: in a cgroup it makes, or of a controller it
        enables in the parent (cgroup v2)."""
        cgroup = step.path.parent
        controller = step.path.name.split(".", 1)[0]
        return cgroup in made or ((cgroup.parent, controller) in enabling and not step.path.exists())

    def check(self, step: Step, made: set[Path]) -> None:
        shown = self.host.shown(step.path)
        if step.op == "signal":
            if step.pid is None or step.pid <= 1 or step.value not in kill.SIGNALS:
                raise InvalidRequest(f"{shown}: a signal step needs a pid above 1 and one of {kill.SIGNALS}")
            return
        if step.op == "mkdir":
            check_cgroup_dir(self.host, step.path)
            if step.path.parent not in made and not step.path.parent.is_dir():
                raise InvalidRequest(f"cannot make {shown}: its parent cgroup does not exist")
            if os.path.lexists(step.path):
                raise InvalidRequest(f"cannot make {shown}: it exists already")
            return
        check_file(self.host, step.path)
        expected = {
            "enable": ("cgroup.subtree_control",),
            "move": ("cgroup.procs",),
            "freeze": ("freezer.state", "cgroup.freeze"),
        }.get(step.op)
        if expected is not None and step.path.name not in expected:
            raise InvalidRequest(f"{shown}: a {step.op} step cannot write {step.path.name}")
        if step.op == "move":
            if step.pid is None or step.pid <= 0 or step.source_path is None:
                raise InvalidRequest(f"{shown}: a move needs a pid and the cgroup it comes from")
            check_file(self.host, step.source_path)
            if step.source_path.name != "cgroup.procs":
                raise InvalidRequest(f"{self.host.shown(step.source_path)}: not a cgroup.procs")

    def _read_existing(self, path: Path) -> str:
        try:
            return self.files.read(path)
        except ProcessGone:
            raise InvalidRequest(
                f"{self.host.shown(path)} does not exist: this kernel offers no {path.name} there "
                f"({MISSING_FILE})"
            ) from None

    def check_permitted(self, steps: Sequence[Step], action: str) -> None:
        """Refuse, before the journal is touched, a change this user may not make: changing cgroups
        needs root (or a cgroup delegated to the user), signalling another user's process needs root."""
        for step in steps:
            if step.op == "signal":
                assert step.pid is not None
                if not self.files.may_signal(self.host, step.pid):
                    raise InvalidRequest(
                        f"{action} needs root: process {step.pid} belongs to another user (EPERM); "
                        "nothing sent"
                    )
                continue
            path = step.path.parent if step.op == "mkdir" else step.path
            if os.path.lexists(path) and not self.files.writable(path):
                raise InvalidRequest(
                    f"{action} needs root: {self.host.shown(path)} is not writable for this user "
                    "(permission denied); nothing changed"
                )

    # -- applying ------------------------------------------------------------------------------------

    def apply(
        self, steps: Sequence[Step], progress: Progress | None = None
    ) -> tuple[tuple[Step, ...], list[str | None]]:
        """Perform prepared steps in order, calling `progress` after each. Returns the steps with the
        old values read on the way (files that appeared during the change) and what each written file
        reads back afterwards. On a failure (of a step, or of `progress`: the journal), reverts the
        steps done and raises WriteFailed saying what failed and whether the rollback was complete."""
        done: list[Step] = []
        after: list[str | None] = []
        made: set[Path] = set()
        for prepared in steps:
            step = prepared
            try:
                if step.op in ("write", "freeze") and step.old is None and step.path.parent not in made:
                    old = self.files.read(step.path)  # a controller enabled just before brought it in
                    step = step.with_old(old, restore_value(step.path, step.value, old))
                read_back = self._perform(step)
            except _HalfDone as half:
                self._fail([*done, step], half.reason, len(done))
            except (OSError, TimeoutError, CgscopeError) as exc:
                why = explain(self.host, step, exc) if isinstance(exc, OSError | TimeoutError) else str(exc)
                self._fail(done, why, len(done))
            if step.op == "mkdir":
                made.add(step.path)
            done.append(step)
            after.append(read_back)
            if progress is not None:
                try:
                    progress(len(done) - 1, step, read_back)
                except CgscopeError as exc:
                    self._fail(done, f"{exc} (it records each step before the next)", len(done))
        return tuple(done), after

    def _fail(self, written: list[Step], why: str, earlier: int) -> NoReturn:
        problems = Reverter(self.host, self.files).revert(written, careful=False).problems
        if problems:
            raise WriteFailed(f"{why}; rollback incomplete: {problems[0]}", rolled_back=False) from None
        undone = f"rolled back the {earlier} earlier step(s)" if earlier else "nothing had been changed"
        raise WriteFailed(f"{why}; {undone}") from None

    def _perform(self, step: Step) -> str | None:
        if step.op == "mkdir":
            self.files.mkdir(step.path)
            return None
        if step.op == "move":
            self.files.write(step.path, str(step.pid))
            return None
        if step.op == "signal":
            assert step.pid is not None
            self.files.signal(self.host, step.pid, step.start_ticks, kill.number(step.value))
            return None
        self.files.write(step.path, step.value)
        if step.op == "enable":
            return None
        if step.op == "freeze":
            try:
                self.files.wait_frozen(step.path, step.value)
            except (OSError, TimeoutError) as exc:
                raise _HalfDone(explain(self.host, step, exc)) from None
        return self.files.read(step.path)
