"""One process's /proc/PID, read as one process's: through one open directory.

A pid is reused as soon as its process is reaped, and a path names whichever process holds the pid when
it is resolved: reading /proc/PID/stat, then /proc/PID/status by path can read two processes. An open
/proc/PID directory stays its process's (the inode holds the process's struct pid, fs/proc/base.c): a
name looked up in it after that process was reaped fails (ENOENT) however the pid is reused, and the
process is reported gone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cgscope.fs.files import GONE_ERRNOS, open_fd, read_link, read_text, reading

# O_PATH: enough to look names up below it; no read of the directory itself is needed.
_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC


@dataclass(frozen=True, slots=True)
class PidDir:
    """/proc/PID: `fd` its directory, open (opened()); None: each name resolved from `path` again (at(),
    for a file read alone, where one process per file is all there is to it)."""

    path: str
    fd: int | None = None

    @classmethod
    def at(cls, proc: Path, pid: int) -> PidDir:
        return cls(f"{proc}/{pid}")

    @classmethod
    def opened(cls, proc: Path, pid: int) -> PidDir:
        """The directory of the process that holds `pid` now, open until the `with` block it is used in
        ends (a class's __exit__: a generator's context costs as much as a file read); ProcessGone if
        none holds it."""
        path = f"{proc}/{pid}"
        with reading(path):
            return cls(path, open_fd(path, _FLAGS))

    def __enter__(self) -> PidDir:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)

    def name(self, name: str) -> str:
        """The path of `name` below it, as errors and the open counts name it."""
        return f"{self.path}/{name}"

    def read_text(self, name: str) -> str:
        return read_text(self.name(name), None if self.fd is None else (self.fd, name))

    def read_link(self, name: str) -> str:
        """The target of a link below it (raw OSError: the caller tells which errno means what)."""
        return read_link(self.name(name), None if self.fd is None else (self.fd, name))

    def gone(self) -> bool:
        """Whether its process is gone (reaped; with a path, no process holds the pid)."""
        if self.fd is None:
            return not os.path.exists(self.path)
        try:
            os.stat("stat", dir_fd=self.fd)
        except OSError as exc:
            return exc.errno in GONE_ERRNOS
        return False
