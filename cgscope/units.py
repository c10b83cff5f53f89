"""How cgscope writes quantities for people, in every layer alike: sizes in bytes and CPU lists.

Pure functions of numbers, below every layer (fs/ … tui/ may all use them): a message of the control
layer and a table of the dashboard write the same 256M the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

_UNITS = "KMGTPE"  # powers of 1024, as free -h, top and docker -m count


def size(n: float) -> str:
    """Bytes with binary prefixes, as top and free -h write them: 512B, 1.5K, 75.0M, 100M, 2.3G. Three
    significant digits at most: one decimal below 100 of a unit, none from there."""
    value = float(n)
    if abs(value) < 1024:
        return f"{value:.0f}B"
    for unit in _UNITS:
        value /= 1024
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f}{unit}" if abs(value) < 100 else f"{value:.0f}{unit}"
    raise AssertionError("unreachable")


def cpulist(cpus: Iterable[int]) -> str:
    """CPUs as the kernel lists them (cpuset.cpus, cpu/online): {0, 1, 2, 5} -> "0-2,5"."""
    ranges: list[list[int]] = []
    for c in sorted(set(cpus)):
        if ranges and c == ranges[-1][1] + 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)
