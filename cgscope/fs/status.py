"""/proc/PID/status (proc(5)): read once per process, and each caller takes the fields it needs.

Status lines are "Key:\\tvalue". Each accessor finds and parses its own field when asked (a scan reads
two fields of every process: splitting the whole file would cost it three times as much), and raises
InvalidFormat, naming the file and the line, when the field is malformed. A field a kernel too old to
show it lacks is None; Uid, State and the Cap* masks are in every kernel.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import InvalidFormat, ProcessGone
from cgscope.fs.files import StrPath, list_dir, read_text, reading
from cgscope.fs.parse import hex_integer, integer
from cgscope.fs.piddir import PidDir


class Status:
    def __init__(self, text: str, path: StrPath) -> None:
        self._text = text
        self.path = os.fspath(path)

    def _line(self, key: str) -> str | None:
        """The value of field `key` (after "Key:"), None where the file has no such line."""
        text = self._text
        if text.startswith(f"{key}:"):
            start = 0
        else:
            start = text.find(f"\n{key}:") + 1
            if start == 0:
                return None
        start += len(key) + 1
        end = text.find("\n", start)
        return text[start:] if end < 0 else text[start:end]

    def _field(self, key: str, count: int | None = 1) -> tuple[str, list[str]] | None:
        """(the line, its words) of field `key`, `count` words long (None: any); None where absent."""
        value = self._line(key)
        if value is None:
            return None
        words = value.split()
        if count is not None and len(words) != count:
            raise InvalidFormat(self.path, f"{key}:{value}")
        return f"{key}:{value}", words

    def _required(self, key: str, count: int | None = 1) -> tuple[str, list[str]]:
        found = self._field(key, count)
        if found is None:
            raise InvalidFormat(self.path, None, f"no {key} line")
        return found

    def _numbers(self, key: str, count: int | None) -> tuple[int, ...]:
        line, words = self._required(key, count)
        return tuple(integer(w, self.path, line) for w in words)

    def _number(self, key: str) -> int | None:
        found = self._field(key)
        return None if found is None else integer(found[1][0], self.path, found[0])

    def _mask(self, key: str) -> int | None:
        found = self._field(key)
        return None if found is None else hex_integer(found[1][0], self.path, found[0])

    @property
    def uids(self) -> tuple[int, int, int, int]:
        """(real, effective, saved set, filesystem) uid."""
        real, effective, saved, fs = self._numbers("Uid", 4)
        return real, effective, saved, fs

    @property
    def uid(self) -> int:
        return self.uids[0]

    @property
    def euid(self) -> int:
        return self.uids[1]

    @property
    def state(self) -> str:
        """One letter: "R" running or runnable, "D" uninterruptible, "S" sleeping, "Z" zombie ..."""
        line, words = self._required("State", None)
        if len(words[0]) != 1:
            raise InvalidFormat(self.path, line)
        return words[0]

    @property
    def nspid(self) -> tuple[int, ...]:
        """The pid in each nested pid namespace, outermost first (NSpid, Linux >= 4.1; else empty)."""
        return self._numbers("NSpid", None) if self._line("NSpid") is not None else ()

    def cap(self, name: str) -> int:
        """A capability mask: "Eff", "Prm", "Bnd", "Inh" (bit N is capability N, linux/capability.h)."""
        line, words = self._required(f"Cap{name}")
        return hex_integer(words[0], self.path, line)

    @property
    def cap_ambient(self) -> int | None:  # Linux >= 4.3
        return self._mask("CapAmb")

    @property
    def no_new_privs(self) -> bool | None:  # Linux >= 4.10
        value = self._number("NoNewPrivs")
        return None if value is None else bool(value)

    @property
    def seccomp(self) -> int | None:
        """0 disabled, 1 strict, 2 filter; None without CONFIG_SECCOMP."""
        return self._number("Seccomp")

    @property
    def seccomp_filters(self) -> int | None:  # Linux >= 5.9
        return self._number("Seccomp_filters")


def read_status(proc: Path, pid: int) -> Status:
    return status_of(PidDir.at(proc, pid))


def status_of(d: PidDir) -> Status:
    return Status(d.read_text("status"), d.name("status"))


# -- threads of one process ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Task:
    state: str  # "R" running or runnable, "D" uninterruptible, "S" sleeping ... (proc(5))
    nspid: int | None  # the thread's id in its own pid namespace (last NSpid field)
    depth: int  # how deep that namespace is: NSpid's field count (1: the host's)


def task_of(status: Status) -> Task:
    ids = status.nspid
    return Task(status.state, ids[-1] if ids else None, len(ids))


def read_tasks(proc: Path, pid: int) -> list[Task]:
    """The threads of a process, from /proc/PID/task/TID/status; those gone meanwhile are left out."""
    task_dir = proc / str(pid) / "task"
    with reading(task_dir):
        tids = [e.name for e in list_dir(task_dir)]
    out = []
    for tid in tids:
        path = task_dir / tid / "status"
        try:
            text = read_text(path)
        except ProcessGone:
            continue
        out.append(task_of(Status(text, path)))
    return out
