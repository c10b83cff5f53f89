"""A cgroup interface file read and parsed in one step, for the readers by controller (cgroup_cpu.py,
cgroup_memory.py, cgroup_pids.py, cgspec.py): a number, a limit ("max" or a number), "key value" lines.
The optional forms answer None where the file is not there: its controller is off in that cgroup."""

from __future__ import annotations

from collections.abc import Collection

from cgscope.fs.files import StrPath, read_optional, read_text
from cgscope.fs.parse import flat_keyed, limit_value, single_integer


def read_number(path: StrPath) -> int:
    return single_integer(read_text(path, whole=True), path)


def read_keyed(path: StrPath, keys: Collection[str] | None = None) -> dict[str, int]:
    return flat_keyed(read_text(path, whole=True), path, keys)


def optional_number(path: StrPath) -> int | None:
    text = read_optional(path, whole=True)
    return None if text is None else single_integer(text, path)


def optional_limit(path: StrPath) -> int | None:
    """The limit in the file; None for no limit ("max") or no such file."""
    text = read_optional(path, whole=True)
    return None if text is None else limit_value(text, path)
