"""What the control layer reads before it writes: cgroup interface files and the host's block devices.
Reading only; cgscope/control/ does the writing."""

from __future__ import annotations

import os
from pathlib import Path

from cgscope.fs.files import read_text, reading


def read_value(path: Path) -> str:
    """A cgroup interface file's text without its trailing newline ("max 100000", "0-1", "")."""
    return read_text(path).rstrip("\n")


def child_cgroups(directory: Path) -> list[Path]:
    """The cgroups directly below `directory` (interface files are regular files, cgroups directories)."""
    with reading(directory), os.scandir(directory) as it:
        return sorted(Path(e.path) for e in it if e.is_dir(follow_symlinks=False))


def block_device(root: Path, major: int, minor: int) -> str | None:
    """ "disk" or "partition" for a block device number the host knows (/sys/dev/block/MAJ:MIN), else None."""
    entry = root / f"sys/dev/block/{major}:{minor}"
    if not entry.exists():
        return None
    return "partition" if (entry / "partition").exists() else "disk"
