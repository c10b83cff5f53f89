"""Notes a command adds on stderr beside its answer, said once per terminal session rather than on every
run: the session (getsid(2), with its leader's start time, for session ids are reused) is recorded in a
small file under the user's runtime directory ($XDG_RUNTIME_DIR/cgscope, else a directory of the user's
own in the temporary directory)."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import suppress
from pathlib import Path

from cgscope.errors import CgscopeError
from cgscope.fs import procfs


def _directory() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) if runtime else Path(tempfile.gettempdir()) / f"cgscope-{os.getuid()}"
    return base / "cgscope" if runtime else base


def _session(sid: int) -> str | None:
    """A session as "SID-START": its id and its leader's start time; None when it is gone."""
    try:
        return f"{sid}-{procfs.read_stat(Path('/proc'), sid).start_ticks}"
    except CgscopeError:
        return None


def _ended(mark: Path) -> bool:
    """Whether the session a record was made in has ended (its leader gone, or its pid reused)."""
    _, sid, start, _ = (*mark.name.split("-", 3), "", "", "")[:4]
    return not sid.isdigit() or _session(int(sid)) != f"{sid}-{start}"


def note_once(key: str, text: str, *, quiet: bool) -> None:
    """Print `text` on stderr unless `quiet`, or it was said in this terminal session already (for the
    same `key`, a word); where the session or the record is unreadable it is said every time."""
    if quiet:
        return
    session = _session(os.getsid(0))  # 0 where the leader is in another pid namespace: no session to key on
    mark = None
    if session is not None:
        mark = _directory() / f"said-{session}-{key}"
        with suppress(OSError):  # a record we may not read is one we may not write: say it
            if mark.exists():
                return
    print(text, file=sys.stderr)
    if mark is not None:
        with suppress(OSError):
            mark.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if mark.parent.stat().st_uid != os.getuid():  # a directory someone else made: not ours to use
                return
            for old in mark.parent.glob("said-*"):
                if _ended(old):
                    old.unlink(missing_ok=True)
            mark.touch()
