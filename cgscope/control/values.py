"""The values people give for a change — shares, sizes, counts, CPU lists, device limits, cgroup names —
parsed with one-line errors that name the option and say what it takes.

Only ASCII digits make a number (`int()` and `str.isdigit()` accept '٢' and '²'; the kernel does not), and
nothing is read around a value: no spaces, newlines or NULs. Every bound is checked on the text before a
number is built from it, so no value can make cgscope expand or allocate without limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from cgscope.control.errors import InvalidRequest

Max = Literal["max"]
MAX: Final[Max] = "max"  # remove the limit

SIZE_MAX = 2**63 - 1
CPU_ID_MAX = 8191  # CONFIG_NR_CPUS is at most 8192 on every architecture Linux builds for
IO_KEYS = ("rbps", "wbps", "riops", "wiops")  # io.max (cgroup-v2.rst)
NAME_MAX = 255  # bytes in one cgroup path component (kernfs, like every Linux file system)
_DIGITS_MAX = 20  # more digits than 2^64 has: refused before int() (which also caps str length)

_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_CPU = re.compile(rf"({_NUMBER})(%?)")
_SIZE = re.compile(rf"({_NUMBER})([kmgtpe]?)(i?b)?", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}
_COUNT = re.compile(r"[0-9]+")
_DEVICE = re.compile(r"([0-9]+):([0-9]+)")
_CPULIST = re.compile(r"[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*")


@dataclass(frozen=True)
class IoLimit:
    major: int
    minor: int
    values: Mapping[str, int | Max]  # some of IO_KEYS

    @property
    def device(self) -> str:
        return f"{self.major}:{self.minor}"


def plain(option: str, text: str) -> str:
    """`text` as given, refused if it holds a newline or NUL or starts or ends with a space: the kernel
    would read such a value differently from what it looks like."""
    if "\n" in text or "\0" in text or text != text.strip():
        raise InvalidRequest(f"{option} {text!r}: give the value alone, without spaces or newlines")
    return text


def number(text: str, option: str, lo: int, hi: int, *, unit: str = "") -> int:
    """A whole number from `lo` to `hi`, in ASCII digits."""
    if not _COUNT.fullmatch(text):
        raise InvalidRequest(f"{option} {text!r}: give a whole number from {lo} to {hi}{unit}")
    if len(text) > _DIGITS_MAX or not lo <= int(text) <= hi:
        raise InvalidRequest(f"{option} {text}: must be from {lo} to {hi}{unit}")
    return int(text)


def count_or_max(text: str, option: str, lo: int, hi: int) -> int | Max:
    return MAX if text == MAX else number(text, option, lo, hi)


def parse_cpu(text: str) -> float | Max:
    """ "20%" (of one CPU, as top counts), "1.5" (CPUs) or "max"."""
    if text == MAX:
        return MAX
    if text.startswith("-"):
        raise InvalidRequest(f"--cpu {text}: a CPU limit must be more than zero (--cpu max removes it)")
    m = _CPU.fullmatch(text)
    if not m or len(m[1]) > _DIGITS_MAX:
        raise InvalidRequest(
            f"--cpu {text!r}: give a percentage of one CPU (20%), a number of CPUs (1.5), or max"
        )
    cpus = float(m[1]) / (100 if m[2] else 1)
    if cpus <= 0:
        raise InvalidRequest(f"--cpu {text}: a CPU limit must be more than zero (--cpu max removes it)")
    return cpus


def parse_size(text: str, option: str) -> int | Max:
    """Bytes: "268435456", "256M", "1.5GiB", "512k" (units are powers of 1024, as docker's -m), or "max"."""
    if text == MAX:
        return MAX
    if text.startswith("-"):
        raise InvalidRequest(
            f"{option} {text}: a size must be more than zero ({option} max removes the limit)"
        )
    m = _SIZE.fullmatch(text)
    if not m:
        raise InvalidRequest(
            f"{option} {text!r}: give a size such as 256M, 1.5G or 268435456 (bytes), or max"
        )
    exact = Decimal(m[1]) * 1024 ** _POWERS[m[2].lower()]
    if exact > SIZE_MAX:
        raise InvalidRequest(f"{option} {text}: more than the kernel can count (2^63 - 1 bytes)")
    value = int(exact)
    if value <= 0:
        raise InvalidRequest(
            f"{option} {text}: a size must be more than zero ({option} max removes the limit)"
        )
    return value


def parse_cpuset(text: str) -> frozenset[int] | Max:
    """A cpu list ("0-1", "0,2"; cgroup-v2.rst, cpuset.cpus) or "max" (all of the parent's CPUs)."""
    if text == MAX:
        return MAX
    if not _CPULIST.fullmatch(text):
        raise InvalidRequest(f"--cpuset {text!r}: give CPUs as the kernel lists them: 0-1, 0,2 or 3")
    ranges = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        for n in (first, last or first):
            if len(n) > _DIGITS_MAX or int(n) > CPU_ID_MAX:
                raise InvalidRequest(
                    f"--cpuset {text}: CPU {n} is beyond what any kernel numbers (0 to {CPU_ID_MAX})"
                )
        if int(last or first) < int(first):
            raise InvalidRequest(f"--cpuset {text!r}: give CPUs as the kernel lists them: 0-1, 0,2 or 3")
        ranges.append(range(int(first), int(last or first) + 1))
    return frozenset(cpu for r in ranges for cpu in r)


def parse_io_max(text: str) -> IoLimit:
    """ "MAJ:MIN:rbps=1M,wbps=max,riops=100,wiops=max" (bytes per second take size units)."""
    device, sep, spec = text.rpartition(":") if text.count(":") >= 2 else ("", "", text)
    m = _DEVICE.fullmatch(device)
    if not sep or not m or max(len(m[1]), len(m[2])) > _DIGITS_MAX:
        raise InvalidRequest(
            f"--io-max {text!r}: give MAJ:MIN:rbps=N,wbps=N,riops=N,wiops=N (see lsblk for MAJ:MIN)"
        )
    values: dict[str, int | Max] = {}
    for item in spec.split(","):
        key, eq, value = item.partition("=")
        if not eq or key not in IO_KEYS:
            raise InvalidRequest(
                f"--io-max {text!r}: {item!r} is not one of {', '.join(k + '=' for k in IO_KEYS)}"
            )
        if key in values:
            raise InvalidRequest(f"--io-max {text!r}: {key} given twice")
        if key.endswith("bps"):
            values[key] = parse_size(value, f"--io-max {key}")
        else:
            values[key] = count_or_max(value, f"--io-max {key}", 1, SIZE_MAX)
    return IoLimit(int(m[1]), int(m[2]), values)


def parse_cgroup_path(text: str, *, what: str = "cgroup", relative_ok: bool = False) -> str:
    """A cgroup path given by a user: absolute ("/a/b", as /proc/PID/cgroup shows it) or, if
    `relative_ok`, one name. Returns it as given ("/a/b", or the name); refuses `.`, `..`, empty
    components ("//x", "/a/"), newlines and over-long names."""
    if not text:
        raise InvalidRequest(f"empty {what} name")
    if "\0" in text or "\n" in text:
        raise InvalidRequest(f"{what} {text!r}: a cgroup name may not hold a newline or NUL")
    absolute = text.startswith("/")
    if not absolute and not relative_ok:
        raise InvalidRequest(
            f"{what} {text!r}: give an absolute cgroup path, as /proc/PID/cgroup shows it (/a/b)"
        )
    parts = (text[1:] if absolute else text).split("/") if text != "/" else []
    for part in parts:
        if part in ("", ".", ".."):
            raise InvalidRequest(f"{what} {text!r}: a cgroup path may not hold empty, '.' or '..' components")
        if len(part.encode()) > NAME_MAX:
            raise InvalidRequest(f"{what} {text!r}: a cgroup name is at most {NAME_MAX} bytes")
    if not absolute and len(parts) != 1:
        raise InvalidRequest(
            f"{what} {text!r}: give one name (made below the target's cgroup) or an absolute path"
        )
    return text
