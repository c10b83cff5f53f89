"""/proc/PID/status (proc(5)): read once per process, and each caller takes the fields it needs.

Status lines are "Key:\\tvalue". The file is split into fields when first asked; each accessor parses
its own field and raises InvalidFormat, naming the file and the line, when the field is malformed. A
field a kernel too old to show it lacks is None; Uid, State and the Cap* masks are in every kernel.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import InvalidFormat, ProcessGone
from cgscope.fs.files import StrPath, read_text, reading
from cgscope.fs.parse import hex_integer, integer


class Status:
    def __init__(self, text: str, path: StrPath) -> None:
        self._text = text
        self.path = os.fspath(path)
        self._fields: dict[str, str] | None = None

    def _line(self, key: str) -> str | None:
        """The value of field `key` (after "Key:"), None where the file has no such line."""
        if self._fields is None:
            self._fields = {}
            for line in self._text.splitlines():
                name, sep, value = line.partition(":")
                if sep:
                    self._fields[name] = value
        return self._fields.get(key)

    def _words(self, key: str) -> list[str] | None:
        value = self._line(key)
        return None if value is None else value.split()

    def _required(self, key: str) -> list[str]:
        words = self._words(key)
        if words is None:
            raise InvalidFormat(self.path, None, f"no {key} line")
        return words

    def _quoted(self, key: str) -> str:
        return f"{key}:{self._line(key)}"

    def _numbers(self, key: str, count: int | None = None) -> tuple[int, ...]:
        words = self._required(key)
        if count is not None and len(words) != count:
            raise InvalidFormat(self.path, self._quoted(key))
        return tuple(integer(w, self.path, self._quoted(key)) for w in words)

    def _optional_number(self, key: str) -> int | None:
        words = self._words(key)
        if words is None:
            return None
        if len(words) != 1:
            raise InvalidFormat(self.path, self._quoted(key))
        return integer(words[0], self.path, self._quoted(key))

    def _mask(self, key: str, required: bool = True) -> int | None:
        words = self._required(key) if required else self._words(key)
        if words is None:
            return None
        if len(words) != 1:
            raise InvalidFormat(self.path, self._quoted(key))
        return hex_integer(words[0], self.path, self._quoted(key))

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
        words = self._required("State")
        if len(words[0]) != 1:
            raise InvalidFormat(self.path, self._quoted("State"))
        return words[0]

    @property
    def nspid(self) -> tuple[int, ...]:
        """The pid in each nested pid namespace, outermost first (NSpid, Linux >= 4.1; else empty)."""
        return self._numbers("NSpid") if self._line("NSpid") is not None else ()

    def cap(self, name: str) -> int:
        """A capability mask: "Eff", "Prm", "Bnd", "Inh" (bit N is capability N, linux/capability.h)."""
        mask = self._mask(f"Cap{name}")
        assert mask is not None
        return mask

    @property
    def cap_ambient(self) -> int | None:  # Linux >= 4.3
        return self._mask("CapAmb", required=False)

    @property
    def no_new_privs(self) -> bool | None:  # Linux >= 4.10
        value = self._optional_number("NoNewPrivs")
        return None if value is None else bool(value)

    @property
    def seccomp(self) -> int | None:
        """0 disabled, 1 strict, 2 filter; None without CONFIG_SECCOMP."""
        return self._optional_number("Seccomp")

    @property
    def seccomp_filters(self) -> int | None:  # Linux >= 5.9
        return self._optional_number("Seccomp_filters")


def read_status(proc: Path, pid: int) -> Status:
    path = f"{proc}/{pid}/status"
    return Status(read_text(path), path)


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
        tids = os.listdir(task_dir)
    out = []
    for tid in tids:
        path = task_dir / tid / "status"
        try:
            text = read_text(path)
        except ProcessGone:
            continue
        out.append(task_of(Status(text, path)))
    return out
