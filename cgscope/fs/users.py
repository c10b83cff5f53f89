"""User names for uids, from the host root's /etc/passwd (so a fixture root carries its own)."""

from __future__ import annotations

import pwd
from contextlib import suppress
from pathlib import Path


class UserNames:
    def __init__(self, root: Path) -> None:
        self._names: dict[int, str] = {}
        self._live = root == Path("/")
        try:
            for line in (root / "etc/passwd").read_text(errors="replace").splitlines():
                fields = line.split(":")
                if len(fields) > 2 and fields[2].isdigit():
                    self._names.setdefault(int(fields[2]), fields[0])
        except OSError:
            pass

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
