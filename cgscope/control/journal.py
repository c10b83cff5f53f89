"""The journal: every change cgscope makes, appended as JSON lines, each fsynced before cgscope goes on.

A change is recorded as "begin" (before the first write: who, when, the steps with their old values), a
"step" line after each step is done (what its file read back), and its outcome ("applied", "rolled
back", or "rollback incomplete"). A change without an outcome was cut short (cgscope was killed): its
step lines say what it wrote, and `undo` restores that. "undone" lines record undos. A line that cannot
be appended is cut off again (the file keeps whole lines); a line cut short by a crash, or one that is
not cgscope's, is skipped and reported. See docs/control.md for the format.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import pwd
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cgscope.control.plan import Plan, Step, field, whole
from cgscope.errors import CgscopeError

VERSION = 1
FILENAME = "journal.jsonl"
OUTCOMES = ("applied", "rolled back", "rollback incomplete")


class JournalError(CgscopeError):
    """The journal could not be written or read."""


def state_dir() -> Path:
    """$CGSCOPE_STATE if set; /var/lib/cgscope for root; else the XDG state directory."""
    override = os.environ.get("CGSCOPE_STATE")
    if override:
        return Path(override)
    if os.geteuid() == 0:
        return Path("/var/lib/cgscope")
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local/state")
    return Path(xdg) / "cgscope"


@dataclass(frozen=True)
class Change:
    """One change as the journal tells it, its progress, outcome and undo folded in."""

    id: int
    time: str
    uid: int
    user: str
    action: str
    command: tuple[str, ...]
    root: str
    target: str
    target_pids: tuple[int, ...]
    steps: tuple[Step, ...]
    notes: tuple[str, ...]
    status: str = "incomplete"  # applied | rolled back | incomplete | undone
    error: str | None = None
    after: tuple[str | None, ...] | None = None  # what each step's file read back (None: not known)
    # Per step: True written, False not written, None not known (cgscope stopped while writing it).
    written: tuple[bool | None, ...] = ()
    undone: dict[str, Any] | None = None  # {"time", "user", "problems"}

    @property
    def undoable(self) -> bool:
        """In effect (applied, or cut short), and not a signal: a signal cannot be undone."""
        return self.status in ("applied", "incomplete") and all(s.op != "signal" for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        steps = [s.to_json() for s in self.steps]
        for i, data in enumerate(steps):
            if data["op"] in ("write", "freeze"):
                data["after"] = self.after[i] if self.after is not None else None
            data["written"] = self.written[i]
        return {
            "id": self.id,
            "time": self.time,
            "uid": self.uid,
            "user": self.user,
            "action": self.action,
            "command": list(self.command),
            "root": self.root,
            "target": self.target,
            "target_pids": list(self.target_pids),
            "status": self.status,
            "error": self.error,
            "steps": steps,
            "created": [str(s.path) for s in self.steps if s.op == "mkdir"],
            "moved": [
                {"pid": s.pid, "hierarchy": s.hierarchy, "from": s.source, "to": s.cgroup}
                for s in self.steps
                if s.op == "move"
            ],
            "notes": list(self.notes),
            "undone": self.undone,
        }


@dataclass(frozen=True)
class Reading:
    changes: list[Change]  # oldest first
    skipped: list[str]  # "line 7: cut short (…)": lines that are not whole journal records


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="milliseconds")


def _who() -> dict[str, Any]:
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return {"uid": uid, "user": name, "sudo_user": os.environ.get("SUDO_USER"), "pid": os.getpid()}


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._torn = False  # the file ends in a line cut short: the next line starts a new one

    @classmethod
    def default(cls) -> Journal:
        return cls(state_dir() / FILENAME)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the journal exclusively (flock) while a change or an undo runs: two cgscope processes
        never interleave their changes, and ids stay unique."""
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            new = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise JournalError(
                f"cannot write the journal {self.path}: {exc.strerror}; "
                "set CGSCOPE_STATE to a writable directory"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if new:  # the file's directory entry must survive a crash too
                dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
            size = os.fstat(fd).st_size
            self._torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
            self._fd = fd
            yield
        finally:
            self._fd = None
            os.close(fd)  # closing drops the lock

    def _append(self, record: dict[str, Any]) -> None:
        """Append one line and fsync it; JournalError if it cannot be, with the file as it was."""
        fd = self._fd
        if fd is None:
            raise RuntimeError("the journal is written only while locked()")
        line = json.dumps({"v": VERSION, **record}, separators=(",", ":")) + "\n"
        data = ("\n" if self._torn else "").encode() + line.encode()
        start = os.fstat(fd).st_size
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)  # on disk before the command goes on: undo must work after a crash
        except OSError as exc:
            with contextlib.suppress(OSError):  # no half line left for the next one to be glued to
                os.ftruncate(fd, start)
                os.fsync(fd)
            raise JournalError(f"cannot write the journal {self.path}: {exc.strerror}") from None
        self._torn = False

    def begin(self, plan: Plan, steps: Sequence[Step], command: Sequence[str], root: Path) -> int:
        """Record a change about to be applied (its steps with their old values); returns its id."""
        change_id = max((c.id for c in self.changes()), default=0) + 1
        self._append(
            {
                "event": "begin",
                "id": change_id,
                "time": _now(),
                **_who(),
                "root": str(root),
                "action": plan.action,
                "command": list(command),
                "target": plan.target,
                "target_pids": list(plan.target_pids),
                "steps": [s.to_json() for s in steps],
                "notes": list(plan.notes),
                "stepwise": True,
            }
        )
        return change_id

    def step(self, change_id: int, index: int, step: Step, after: str | None) -> None:
        """Record that step `index` is done: its old value (read only now for a file that appeared
        during the change) and what its file reads back."""
        self._append(
            {"event": "step", "id": change_id, "step": index, "old": step.old, "restore": step.restore,
             "after": after}
        )  # fmt: skip

    def finish(
        self,
        change_id: int,
        status: str,
        *,
        after: Sequence[str | None] | None = None,
        steps: Sequence[Step] = (),
        error: str | None = None,
    ) -> None:
        """Record a change's outcome: "applied", "rolled back" or "rollback incomplete". `after`: what
        each file read back; `steps`: the steps as applied, with the old values of the files that
        appeared during the change (read only then)."""
        record: dict[str, Any] = {"event": status, "id": change_id, "time": _now(), "error": error}
        if after is not None:
            record["after"] = list(after)
        if steps:
            record["old"] = [s.old for s in steps]
            record["restore"] = [s.restore for s in steps]
        self._append(record)

    def record_undo(self, change_id: int, problems: Sequence[str]) -> None:
        who = _who()
        self._append(
            {
                "event": "undone",
                "id": change_id,
                "time": _now(),
                "uid": who["uid"],
                "user": who["user"],
                "problems": list(problems),
            }
        )

    def read(self) -> Reading:
        """Every change recorded, and the lines skipped because they are not whole journal records."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return Reading([], [])
        except OSError as exc:
            raise JournalError(f"cannot read the journal {self.path}: {exc.strerror}") from None
        found: dict[int, _Folding] = {}
        skipped = []
        lines = data.split(b"\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not an object")
                _fold(found, record)
            except (ValueError, TypeError, RecursionError) as exc:
                last = number == len(lines)
                why = "cut short (cgscope was stopped while writing it)" if last else f"not a record ({exc})"
                skipped.append(f"line {number}: {why}")
        return Reading([found[k].change() for k in sorted(found)], skipped)

    def changes(self) -> list[Change]:
        """Every change recorded, oldest first."""
        return self.read().changes

    def change(self, change_id: int) -> Change:
        for c in self.changes():
            if c.id == change_id:
                return c
        raise JournalError(f"the journal {self.path} lost change {change_id}")


@dataclass
class _Folding:
    """A change while its lines are read."""

    begin: Change
    steps: list[Step]
    after: list[str | None]
    done: set[int]
    stepwise: bool  # each step done is recorded (begin's "stepwise"): the others were not written
    outcome: str | None = None
    error: str | None = None
    undone: dict[str, Any] | None = None

    def change(self) -> Change:
        n = len(self.steps)
        if self.outcome == "applied" or (self.outcome is None and len(self.done) == n):
            status = "applied"
        else:
            status = "rolled back" if self.outcome == "rolled back" else "incomplete"
        written: list[bool | None] = [i in self.done or status == "applied" for i in range(n)]
        if status == "incomplete" and not self.stepwise:
            written = [None] * n  # any of them may have been
        elif status == "incomplete":  # the step after the last one recorded may have been written
            first = next((i for i in range(n) if not written[i]), None)
            if first is not None:
                written[first] = None
        return replace(
            self.begin,
            status="undone" if self.undone is not None else status,
            error=self.error,
            steps=tuple(self.steps),
            after=tuple(self.after),
            written=tuple(written),
            undone=self.undone,
        )


def _fold(found: dict[int, _Folding], record: dict[str, Any]) -> None:
    """Fold one line in; ValueError (or TypeError) saying why for a line cgscope would not write."""
    event, change_id = field(record, "event", str), whole(record, "id")
    if event == "begin":
        steps = [Step.from_json(s) for s in _list(record, "steps")]
        stepwise = field(record, "stepwise", bool, False)  # journals before step lines lack it
        found[change_id] = _Folding(_begin(record, change_id), steps, [None] * len(steps), set(), stepwise)
        return
    folding = found.get(change_id)
    if folding is None:
        return  # its begin was cut short or is not cgscope's: reported there
    n = len(folding.steps)
    if event == "step":
        index = whole(record, "step")
        if index >= n:
            raise ValueError(f"step {index} of a change with {n}")
        step = folding.steps[index]
        old, restore = field(record, "old", str, None), field(record, "restore", str, None)
        folding.steps[index] = step.with_old(old, restore) if step.old is None else step
        folding.after[index] = field(record, "after", str, None)
        folding.done.add(index)
    elif event == "undone":
        problems = [str(p) for p in _list(record, "problems")]
        folding.undone = {"time": field(record, "time", str), "user": field(record, "user", str),
                          "problems": problems}  # fmt: skip
    elif event in OUTCOMES:
        folding.outcome, folding.error = event, field(record, "error", str, None)
        if "after" in record:
            folding.after = [_optional_str(a) for a in _list(record, "after", n)]
        if "old" in record:
            olds = [_optional_str(o) for o in _list(record, "old", n)]
            restores = [_optional_str(r) for r in _list(record, "restore", n)]
            folding.steps = [s.with_old(o, r) for s, o, r in zip(folding.steps, olds, restores, strict=True)]
    else:
        raise ValueError(f"unknown event {event!r}")


def _begin(record: dict[str, Any], change_id: int) -> Change:
    return Change(
        id=change_id,
        time=field(record, "time", str),
        uid=whole(record, "uid"),
        user=field(record, "user", str),
        action=field(record, "action", str),
        command=tuple(str(a) for a in _list(record, "command")),
        root=field(record, "root", str),
        target=field(record, "target", str),
        target_pids=tuple(whole({"pid": p}, "pid") for p in _list(record, "target_pids")),
        steps=(),
        notes=tuple(str(n) for n in _list(record, "notes")),
    )


def _list(record: dict[str, Any], key: str, length: int | None = None) -> list[Any]:
    items = field(record, key, list)
    if length is not None and len(items) != length:
        raise ValueError(f"{key!r} has {len(items)} items for {length} steps")
    return items


def _optional_str(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{value!r} is not a text")
    return value
