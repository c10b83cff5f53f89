"""What every kernel-file parser is built from: ASCII numbers, "key value" lines, limits and CPU lists.

Each function takes the text of a file and its path, and raises InvalidFormat naming both the file and
the line it could not read. Only ASCII digits are digits in kernel text: int() also takes Unicode digits
(int("٢") == 2), "_", "+" and surrounding whitespace, str.isdigit() takes "²", and the kernel writes none
of them.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from cgscope.errors import InvalidFormat
from cgscope.fs.files import StrPath

# The kernel prints s64/u64 at most: 20 digits. A longer run is no kernel number (and int() of more than
# 4300 digits raises ValueError).
_DIGITS = 20
_HEX = re.compile(r"[0-9a-fA-F]{1,16}", re.ASCII)
_DECIMAL = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,9})?", re.ASCII)
_I64_MIN, _U64_MAX = -(1 << 63), (1 << 64) - 1
_FLAT_KEYED = re.compile(r"(?:[!-~]+ [0-9]{1,19}\n)*", re.ASCII)  # printable keys, u64 values

# v1 shows "no limit" as PAGE_COUNTER_MAX pages: LONG_MAX rounded down to a page, 9223372036854771712
# with 4 KiB pages (mm/page_counter.c). Nothing a machine can hold comes near 2**62 bytes.
UNLIMITED = 1 << 62
# CPU numbers below NR_CPUS, at most 8192 on x86 (MAXSMP) and arm64: a larger number is no CPU, and a
# range "0-99999999999" must not be expanded.
MAX_CPUS = 1 << 16


def integer(word: str, path: StrPath, line: str | None = None) -> int:
    """A decimal integer as the kernel prints one; `line` is quoted when it is not (default: `word`)."""
    if len(word) < _DIGITS and word.isascii() and word.isdigit():  # the common case, in range for sure
        return int(word)
    digits = word[1:] if word.startswith("-") else word
    if not (0 < len(digits) <= _DIGITS and digits.isascii() and digits.isdigit()):
        raise InvalidFormat(path, word if line is None else line, "not a number in")
    value = int(word)
    if not _I64_MIN <= value <= _U64_MAX:
        raise InvalidFormat(path, word if line is None else line, "number out of range in")
    return value


def hex_integer(word: str, path: StrPath, line: str | None = None) -> int:
    """A 64-bit mask in hex ("000001ffffffffff", the Cap* fields of /proc/PID/status)."""
    if not _HEX.fullmatch(word):
        raise InvalidFormat(path, word if line is None else line, "not a hex number in")
    return int(word, 16)


def decimal(word: str, path: StrPath, line: str | None = None) -> float:
    """A fixed-point number ("12.50", "350735.47"): PSI averages, /proc/uptime, /proc/loadavg."""
    if not _DECIMAL.fullmatch(word):
        raise InvalidFormat(path, word if line is None else line, "not a number in")
    return float(word)


def single_integer(text: str, path: StrPath) -> int:
    """A file holding one number and a newline (memory.current, pids.current, cpuacct.usage)."""
    return integer(text.strip("\n"), path)


def flat_keyed(text: str, path: StrPath, keys: Collection[str] | None = None) -> dict[str, int]:
    """Lines of "key value" (cgroup-v2.rst, "Flat Keyed"): cpu.stat, memory.stat, memory.events,
    memory.oom_control, cgroup.events, /proc/vmstat. `keys`: only those (of memory.stat's 70 lines a
    reader needs 15), the others' numbers left unconverted."""
    if _FLAT_KEYED.fullmatch(text):  # as the kernel prints them: one match, then no check per line
        words = text.split()
        if keys is None:
            return dict(zip(words[::2], map(int, words[1::2]), strict=True))
        found = dict(zip(words[::2], words[1::2], strict=True))
        return {k: int(found[k]) for k in keys if k in found}
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(" ")
        if not sep or not key:
            raise InvalidFormat(path, line)
        out[key] = integer(value, path, line)
    return out if keys is None else {k: v for k, v in out.items() if k in keys}


def limit_value(text: str, path: StrPath) -> int | None:
    """A limit file (memory.max, pids.max, memory.limit_in_bytes); None for no limit: "max" (v2 and v1's
    pids.max) or v1's PAGE_COUNTER_MAX."""
    word = text.strip("\n")
    if word == "max":
        return None
    value = integer(word, path)
    if value < 0:
        raise InvalidFormat(path, word, "negative limit")
    return None if value >= UNLIMITED else value


def v1_quota(text: str, path: StrPath) -> int | None:
    """v1 cpu.cfs_quota_us in µs; None for -1, no quota (sched-bwc.rst). v1 never writes "max"."""
    value = integer(text.strip("\n"), path)
    if value < -1 or value == 0:
        raise InvalidFormat(path, text.strip("\n"), "not a quota in")
    return None if value == -1 else value


def period(text: str, path: StrPath) -> int:
    """A CFS period in µs (cpu.cfs_period_us, cpu.max's second field): never 0."""
    value = integer(text.strip("\n"), path)
    if value <= 0:
        raise InvalidFormat(path, text.strip("\n"), "not a period in")
    return value


def cpu_max(text: str, path: StrPath) -> tuple[int | None, int]:
    """v2 cpu.max: "$MAX $PERIOD" in microseconds, MAX "max" for no quota."""
    line = text.strip("\n")
    fields = line.split(" ")
    if len(fields) != 2:
        raise InvalidFormat(path, line)
    quota = None if fields[0] == "max" else integer(fields[0], path, line)
    if quota is not None and quota <= 0:
        raise InvalidFormat(path, line, "not a quota in")
    return quota, period(fields[1], path)


def cpulist(text: str, path: StrPath) -> tuple[int, ...]:
    """A CPU list as cpusets and /sys/devices/system/cpu/online write it: "0-3,8,10-11" (empty: none)."""
    line = text.strip("\n")
    cpus: set[int] = set()
    for part in line.split(",") if line else ():
        first, sep, last = part.partition("-")
        lo = integer(first, path, line)
        hi = integer(last, path, line) if sep else lo
        if not 0 <= lo <= hi < MAX_CPUS:
            raise InvalidFormat(path, line, "not a CPU list in")
        cpus.update(range(lo, hi + 1))
    return tuple(sorted(cpus))


def device(word: str, path: StrPath, line: str) -> tuple[int, int]:
    """A block device number "MAJ:MIN" (io.stat, blkio.*)."""
    major, sep, minor = word.partition(":")
    if not sep:
        raise InvalidFormat(path, line)
    return integer(major, path, line), integer(minor, path, line)
