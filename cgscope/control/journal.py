"""The journal: every change cgscope makes, appended as JSON lines and fsynced before the command returns.

A change is recorded in two lines: "begin" (before the first write: who, when, the steps with their old
values) and its outcome ("applied" with what each file read back, "rolled back", or "rollback
incomplete"). A "begin" without an outcome is a change cut short (cgscope was killed): `undo` can still
restore it, step by step. "undone" lines record undos. See docs/control.md for the format.
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

from cgscope.control.plan import Plan, Step
from cgscope.errors import CgscopeError

VERSION = 1
FILENAME = "journal.jsonl"
UNDOABLE = ("applied", "incomplete")


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
    """One change as the journal tells it, its outcome and undo folded in."""

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
    after: tuple[str | None, ...] | None = None  # what each step's file read back after applying
    undone: dict[str, Any] | None = None  # {"time", "user", "problems"}

    def to_json(self) -> dict[str, Any]:
        steps = [s.to_json() for s in self.steps]
        if self.after is not None:
            for data, after in zip(steps, self.after, strict=True):
                if data["op"] in ("write", "freeze"):
                    data["after"] = after
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
            raise CgscopeError(
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
            self._fd = fd
            yield
        finally:
            self._fd = None
            os.close(fd)  # closing drops the lock

    def _append(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            raise RuntimeError("the journal is written only while locked()")
        line = json.dumps({"v": VERSION, **record}, separators=(",", ":")) + "\n"
        data = line.encode()
        written = 0
        while written < len(data):
            written += os.write(self._fd, data[written:])
        os.fsync(self._fd)  # on disk before the command goes on: undo must work after a crash

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
            }
        )
        return change_id

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

    def changes(self) -> list[Change]:
        """Every change recorded, oldest first. A line cut short by a crash is skipped."""
        try:
            text = self.path.read_text(errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise CgscopeError(f"cannot read the journal {self.path}: {exc.strerror}") from None
        found: dict[int, Change] = {}
        for line in text.splitlines():
            try:
                record = json.loads(line)
                _fold(found, record)
            except (ValueError, KeyError, TypeError):
                continue
        return [found[k] for k in sorted(found)]


def _fold(found: dict[int, Change], record: dict[str, Any]) -> None:
    event, change_id = record["event"], int(record["id"])
    if event == "begin":
        found[change_id] = Change(
            id=change_id,
            time=record["time"],
            uid=record["uid"],
            user=record["user"],
            action=record["action"],
            command=tuple(record["command"]),
            root=record["root"],
            target=record["target"],
            target_pids=tuple(record["target_pids"]),
            steps=tuple(Step.from_json(s) for s in record["steps"]),
            notes=tuple(record["notes"]),
        )
        return
    old = found.get(change_id)
    if old is None:
        return
    if event == "undone":
        undone = {"time": record["time"], "user": record["user"], "problems": record["problems"]}
        found[change_id] = replace(old, status="undone", undone=undone)
    elif event in ("applied", "rolled back", "rollback incomplete"):
        status = "incomplete" if event == "rollback incomplete" else event
        after = record.get("after")
        steps = old.steps
        if "old" in record:
            olds, restores = record["old"], record["restore"]
            steps = tuple(s.with_old(o, r) for s, o, r in zip(steps, olds, restores, strict=True))
        found[change_id] = replace(
            old,
            status=status,
            error=record.get("error"),
            after=tuple(after) if after is not None else None,
            steps=steps,
        )
