"""The one place that writes to cgroups: checks every path of a change, records the old values, applies
the steps in the order given, and on any failure rolls back what was already written.

The planners order the steps the way the kernel accepts them (directories, then controllers enabled from
the top down, then limits, then moves); reverting runs: moves back, old values restored, made cgroups
removed (deepest first), controllers disabled (bottom up).
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Sequence
from pathlib import Path

from cgscope.control.errors import InvalidRequest, WriteFailed
from cgscope.control.paths import check_cgroup_dir, check_file
from cgscope.control.plan import Step
from cgscope.errors import AccessDenied, CgscopeError, ProcessGone
from cgscope.fs import procfs
from cgscope.fs.cgstats import flat_keyed, read_text
from cgscope.fs.controlfiles import child_cgroups, read_value
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import UNIFIED

FREEZE_TIMEOUT = 10.0  # seconds to wait for a cgroup to report frozen (or thawed)
MISSING_FILE = "controller not enabled for that cgroup, or not built in"


class CgroupFiles:
    """The system calls that change cgroups, one method each. Tests subclass it to make one fail."""

    def read(self, path: Path) -> str:
        return read_value(path)

    def write(self, path: Path, value: str) -> None:
        # As `echo VALUE > FILE` does: one write(2) of the value and a newline (cgroup files parse
        # each write whole and strip the newline). O_NOFOLLOW: never through a symlink, even one that
        # appeared after the checks. Never O_CREAT: only files the kernel offers are written.
        data = (value + "\n").encode()
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            if os.write(fd, data) != len(data):
                raise OSError(errno.EIO, "short write", str(path))
        finally:
            os.close(fd)

    def mkdir(self, path: Path) -> None:
        os.mkdir(path, 0o755)

    def rmdir(self, path: Path) -> None:
        os.rmdir(path)


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

    # -- applying ------------------------------------------------------------------------------------

    def apply(self, steps: Sequence[Step]) -> tuple[tuple[Step, ...], list[str | None]]:
        """Perform prepared steps in order. Returns the steps with the old values read on the way (files
        that appeared during the change) and what each written file reads back afterwards. On a failure,
        reverts the steps done and raises WriteFailed saying what failed and whether the rollback was
        complete."""
        done: list[Step] = []
        after: list[str | None] = []
        made: set[Path] = set()
        for prepared in steps:
            step = prepared
            try:
                if step.op in ("write", "freeze") and step.old is None and step.path.parent not in made:
                    old = self.files.read(step.path)  # a controller enabled just before brought it in
                    step = step.with_old(old, restore_value(step.path, step.value, old))
                after.append(self._perform(step))
            except (OSError, TimeoutError, CgscopeError) as exc:
                reason = (
                    explain(self.host, step, exc) if isinstance(exc, OSError | TimeoutError) else str(exc)
                )
                # A freeze that timed out is half done: some tasks are frozen. Thaw them too.
                problems = self.revert([*done, step] if step.op == "freeze" else done, None, careful=False)
                if problems:
                    raise WriteFailed(
                        f"{reason}; rollback incomplete: {problems[0]}", rolled_back=False
                    ) from None
                undone = (
                    f"rolled back the {len(done)} earlier step(s)" if done else "nothing had been changed"
                )
                raise WriteFailed(f"{reason}; {undone}") from None
            if step.op == "mkdir":
                made.add(step.path)
            done.append(step)
        return tuple(done), after

    def _perform(self, step: Step) -> str | None:
        if step.op == "mkdir":
            self.files.mkdir(step.path)
            return None
        if step.op == "move":
            self.files.write(step.path, str(step.pid))
            return None
        self.files.write(step.path, step.value)
        if step.op == "enable":
            return None
        if step.op == "freeze":
            self._wait_frozen(step.path, step.value)
        return self.files.read(step.path)

    def _wait_frozen(self, path: Path, value: str) -> None:
        """freezer.state passes through FREEZING (cgroup-v1/freezer-subsystem.rst); cgroup.events says
        "frozen 1" once every task stopped (cgroup-v2.rst, cgroup.freeze)."""
        deadline = time.monotonic() + FREEZE_TIMEOUT
        while True:
            if path.name == "freezer.state":
                reached = self.files.read(path) == value
            else:
                reached = flat_keyed(read_text(path.parent / "cgroup.events")).get("frozen") == int(value)
            if reached:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(errno.ETIMEDOUT, f"not {value} after {FREEZE_TIMEOUT:g} s", str(path))
            time.sleep(0.01)

    # -- reverting (rollback and undo) --------------------------------------------------------------

    def revert(
        self, steps: Sequence[Step], after: Sequence[str | None] | None, *, careful: bool
    ) -> list[str]:
        """Undo `steps`; returns what could not be undone, one line each.

        `careful` (undo, possibly long after): move back only a process that is still the same one
        (pid and start time) and still in the cgroup cgscope put it in, and restore only a file that
        still holds what cgscope wrote (`after`). A rollback right after a failure restores as is."""
        problems: list[str] = []
        pairs = []
        for pair in zip(steps, after if after is not None else [None] * len(steps), strict=True):
            unsafe = self._unsafe(pair[0])
            if unsafe:
                problems.append(unsafe)
            else:
                pairs.append(pair)
        made = {s.path for s, _ in pairs if s.op == "mkdir"}
        for step, _ in reversed(pairs):
            if step.op == "move":
                problems += self._move_back(step, careful)
        for step, written in reversed(pairs):
            if step.op in ("write", "freeze") and step.path.parent not in made:
                problems += self._restore(step, written, careful)
        for step, _ in sorted(pairs, key=lambda p: len(p[0].path.parts), reverse=True):
            if step.op == "mkdir":
                problems += self._remove(step.path)
        for step, _ in reversed(pairs):
            if step.op == "enable":
                problems += self._disable(step)
        return problems

    def _unsafe(self, step: Step) -> str | None:
        """Why a recorded step may not be reverted (the journal is a file: check its paths again)."""
        try:
            if step.op == "mkdir":
                check_cgroup_dir(self.host, step.path)
            else:
                check_file(self.host, step.path)
            if step.source_path is not None:
                check_file(self.host, step.source_path)
        except InvalidRequest as exc:
            return f"skipped: {exc}"
        return None

    def _move_back(self, step: Step, careful: bool) -> list[str]:
        assert step.pid is not None and step.source_path is not None
        pid = step.pid
        if careful:
            try:
                stat = procfs.read_stat(self.host.proc, pid)
                where = dict(procfs.read_cgroup(self.host.proc, pid))
            except (ProcessGone, AccessDenied):
                return []  # gone: nothing to move back
            if step.start_ticks is not None and stat.start_ticks != step.start_ticks:
                return []  # the pid now names another process
            now = where.get("" if step.hierarchy == UNIFIED else step.hierarchy)
            if now != step.cgroup:
                return [f"process {pid} has moved to {step.hierarchy}:{now} since: left there"]
        if not step.source_path.parent.is_dir():
            return [f"process {pid} stays in {step.hierarchy}:{step.cgroup}: {step.source} no longer exists"]
        try:
            self.files.write(step.source_path, str(pid))
        except OSError as exc:
            if exc.errno == errno.ESRCH:
                return []
            return [
                f"moving process {pid} back to {step.hierarchy}:{step.source}: {os.strerror(exc.errno or 0)}"
            ]
        return []

    def _restore(self, step: Step, written: str | None, careful: bool) -> list[str]:
        shown = self.host.shown(step.path)
        if step.restore is None or not step.path.exists():
            return []
        try:
            if careful:
                now = self.files.read(step.path)
                if now == step.old:
                    return []
                if written is not None and now != written:
                    return [
                        f"{shown} was changed since (it holds {now!r}, cgscope wrote {written!r}): left as is"
                    ]
            self.files.write(step.path, step.restore)
            if step.op == "freeze":
                self._wait_frozen(step.path, step.restore)
        except (OSError, TimeoutError, CgscopeError) as exc:
            return [f"restoring {shown} to {step.restore!r}: {_reason(exc)}"]
        return []

    def _remove(self, path: Path) -> list[str]:
        """rmdir a cgroup cgscope made, retrying a moment while exiting tasks still count in it."""
        deadline = time.monotonic() + 1.0
        while True:
            try:
                self.files.rmdir(path)
                return []
            except FileNotFoundError:
                return []
            except OSError as exc:
                if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                    why = "it holds processes or cgroups" if exc.errno == errno.EBUSY else _reason(exc)
                    return [f"left {self.host.shown(path)} in place: {why}"]
            time.sleep(0.02)

    def _disable(self, step: Step) -> list[str]:
        directory = step.path.parent
        if not directory.is_dir() or step.restore is None:
            return []
        try:
            if child_cgroups(directory):
                return [f"left {step.value} in {self.host.shown(step.path)}: other cgroups below may use it"]
            self.files.write(step.path, step.restore)
        except (OSError, CgscopeError) as exc:
            return [f"writing {step.restore} to {self.host.shown(step.path)}: {_reason(exc)}"]
        return []


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    return str(exc)


def explain(host: HostRoot, step: Step, exc: OSError | TimeoutError) -> str:
    """One line: which step failed and what the kernel's answer means for it."""
    code = exc.errno or 0
    name = errno.errorcode.get(code, "error")
    shown = host.shown(step.path)
    file = step.path.name
    if step.op == "mkdir":
        return f"cannot make {shown}: {os.strerror(code)} ({name})"
    if code in (errno.EACCES, errno.EPERM):
        return f"writing {shown}: permission denied ({name}): changing cgroups needs root"
    if step.op == "freeze" and isinstance(exc, TimeoutError):
        return f"{host.shown(step.path.parent)} did not report {step.value} within {FREEZE_TIMEOUT:g} s"
    if step.op == "move":
        where = f"{step.hierarchy}:{step.cgroup}"
        if code == errno.ESRCH:
            return f"process {step.pid} has exited (ESRCH) before it could move to {where}"
        if code == errno.EBUSY:
            return (
                f"cannot move process {step.pid} into {where} (EBUSY): it passes controllers to its "
                "children (cgroup.subtree_control), and cgroup v2 keeps processes out of such a cgroup "
                "(no-internal-process rule): choose a leaf cgroup"
            )
        if code == errno.EOPNOTSUPP:
            return (
                f"cannot move process {step.pid} into {where} (EOPNOTSUPP): it is a threaded or 'domain "
                "invalid' cgroup (see its cgroup.type): a whole process can only join a domain cgroup"
            )
        if code == errno.ENOSPC:
            return f"cannot move process {step.pid} into {where} (ENOSPC): its cpuset has no cpus or mems"
        if code == errno.EINVAL:
            return f"cannot move process {step.pid} into {where} (EINVAL): the kernel refuses to move it"
        if code == errno.ENOENT:
            return f"cannot move process {step.pid} into {where}: the cgroup is gone"
    if step.op == "enable" and code == errno.EBUSY:
        return (
            f"cannot enable {step.value[1:]} in {shown} (EBUSY): that cgroup holds processes, and "
            "cgroup v2 lets only a cgroup without processes pass controllers to children "
            "(no-internal-process rule)"
        )
    if code == errno.ENOENT:
        return f"{shown} does not exist: this kernel offers no {file} there ({MISSING_FILE})"
    if code == errno.EBUSY and file.startswith("memory."):
        return f"writing {step.value} to {shown} (EBUSY): the kernel could not reclaim memory down to it"
    if code == errno.EBUSY and file.startswith("cpuset."):
        return f"writing {step.value} to {shown} (EBUSY): a cpuset must include its children's CPUs and mems"
    if code == errno.EINVAL and file.startswith("cpu.cfs_"):
        return (
            f"writing {step.value} to {shown} (EINVAL): outside the kernel's bounds (quota at least "
            "1 ms, period 1 ms to 1 s) or above a parent's quota"
        )
    if code == errno.EINVAL and file.startswith("memory.") and "memsw" not in file:
        return f"writing {step.value} to {shown} (EINVAL): not a size it takes, or above memory+swap"
    if code == errno.ENODEV:
        return f"writing {step.value!r} to {shown} (ENODEV): no such block device"
    return f"writing {step.value!r} to {shown}: {os.strerror(code)} ({name})"
