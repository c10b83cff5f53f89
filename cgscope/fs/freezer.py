"""Whether a cgroup is frozen: cgroup v1's freezer.state, cgroup v2's cgroup.events.

v1 (cgroup-v1/freezer-subsystem.rst): freezer.state reads THAWED, FREEZING (some tasks not frozen yet)
or FROZEN, and FROZEN too in a cgroup whose ancestor is frozen. v2 (cgroup-v2.rst, "cgroup.events"):
the "frozen" key is 1 once every task of the cgroup is frozen, by its own cgroup.freeze or an
ancestor's (Linux 5.2+). A root cgroup has neither file: it cannot be frozen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from cgscope.fs.files import read_optional
from cgscope.fs.parse import flat_keyed

Freezer = Literal["thawed", "freezing", "frozen"]
_V1: dict[str, Freezer] = {"THAWED": "thawed", "FREEZING": "freezing", "FROZEN": "frozen"}


def read_freezer(directory: Path, version: int) -> Freezer | None:
    """The cgroup's freezer state; None where it has none to read (a root cgroup, v2 before Linux 5.2)
    or the file says something else. ProcessGone if the cgroup was removed."""
    if version == 1:
        text = read_optional(directory / "freezer.state")
        return _V1.get(text.strip()) if text is not None else None
    path = directory / "cgroup.events"
    events = read_optional(path)
    frozen = flat_keyed(events, path).get("frozen") if events is not None else None
    return None if frozen is None else "frozen" if frozen == 1 else "thawed"
