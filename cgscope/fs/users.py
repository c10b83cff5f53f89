"""/etc/passwd (passwd(5)), parsed in one place: the host's user names for uids here, a container's
accounts through fs/inroot.py.

A passwd file is not the kernel's: a line that is not "name:password:UID:GID:gecos:home:shell" is
skipped, as getpwent(3) skips it.
"""

from __future__ import annotations

import pwd
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs.files import read_text

_FIELDS = 7


@dataclass(frozen=True, slots=True)
class PasswdEntry:
    name: str
    uid: int
    home: str
    shell: str


def parse_passwd(text: str) -> list[PasswdEntry]:
    out = []
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) == _FIELDS and fields[2].isascii() and fields[2].isdigit():
            out.append(PasswdEntry(fields[0], int(fields[2]), fields[5], fields[6]))
    return out


def read_passwd(path: Path) -> list[PasswdEntry]:
    """The entries of a passwd file; none where it cannot be read."""
    try:
        return parse_passwd(read_text(path))
    except (OSError, ProcessGone, AccessDenied):
        return []


class UserNames:
    def __init__(self, root: Path) -> None:
        self._names: dict[int, str] = {}
        self._live = root == Path("/")
        for entry in read_passwd(root / "etc/passwd"):
            self._names.setdefault(entry.uid, entry.name)

    def name(self, uid: int) -> str:
        """The user's name; for users /etc/passwd lacks, NSS on the live host, else the number."""
        if uid < 0:
            return "?"
        found = self._names.get(uid)
        if found is None:
            found = str(uid)
            if self._live:
                with suppress(KeyError):
                    found = pwd.getpwuid(uid).pw_name
            self._names[uid] = found
        return found
