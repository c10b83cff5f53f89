"""What `limit` is asked to do, parsed from the user's strings with one-line errors. The dashboard's
form calls the same parsers, so it refuses exactly what the CLI refuses."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from cgscope.control.errors import InvalidRequest
from cgscope.control.paths import parse_cgroup_path
from cgscope.fs.cgstats import cpulist

Max = Literal["max"]
MAX: Final[Max] = "max"  # remove the limit

PERIOD_MIN, PERIOD_MAX = 1_000, 1_000_000  # µs: the kernel's CFS period bounds (kernel/sched/core.c)
QUOTA_MIN = 1_000  # µs: the kernel refuses a quota under 1 ms
WEIGHT_MIN, WEIGHT_MAX = 1, 10_000  # cpu.weight and io.weight (cgroup-v2.rst)
PID_MAX_LIMIT = 4_194_304  # include/linux/threads.h: no pid count above this means anything
SIZE_MAX = 2**63 - 1
IO_KEYS = ("rbps", "wbps", "riops", "wiops")  # io.max (cgroup-v2.rst)

_CPU = re.compile(r"(\d+(?:\.\d+)?)(%?)")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)([kmgtpe]?)(i?b)?", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}
_DEVICE = re.compile(r"(\d+):(\d+)")
_CPULIST = re.compile(r"\d+(-\d+)?(,\d+(-\d+)?)*")


@dataclass(frozen=True)
class IoLimit:
    major: int
    minor: int
    values: Mapping[str, int | Max]  # some of IO_KEYS

    @property
    def device(self) -> str:
        return f"{self.major}:{self.minor}"


@dataclass(frozen=True)
class LimitRequest:
    cpu: float | Max | None = None  # CPUs (0.2 = 20 % of one CPU)
    cpu_period: int | None = None  # µs
    cpu_weight: int | None = None  # 1-10000, cgroup v2's scale (v1 cpu.shares = weight * 1024 / 100)
    memory: int | Max | None = None  # bytes
    memory_swap: int | Max | None = None  # bytes of memory + swap, as docker's --memory-swap
    pids: int | Max | None = None
    cpuset: frozenset[int] | Max | None = None
    io_weight: int | None = None  # 1-10000
    io_max: tuple[IoLimit, ...] = ()
    into: str | None = None  # a name (made below the target's cgroup) or an absolute cgroup path

    def controllers(self) -> list[str]:
        """The controllers the request needs, in the order their writes are planned."""
        wanted = {
            "cpu": (self.cpu, self.cpu_period, self.cpu_weight),
            "memory": (self.memory, self.memory_swap),
            "pids": (self.pids,),
            "cpuset": (self.cpuset,),
            "io": (self.io_weight, self.io_max or None),
        }
        return [name for name, values in wanted.items() if any(v is not None for v in values)]

    def sets(self, controller: str) -> bool:
        """True if the request sets a limit or weight for `controller` (not only removes limits)."""
        values: dict[str, Sequence[object]] = {
            "cpu": (self.cpu, self.cpu_period, self.cpu_weight),
            "memory": (self.memory, self.memory_swap),
            "pids": (self.pids,),
            "cpuset": (self.cpuset,),
            "io": (self.io_weight, *[v for limit in self.io_max for v in limit.values.values()]),
        }
        return any(v is not None and v != MAX for v in values[controller])


def parse_request(
    *,
    cpu: str | None = None,
    cpu_period: str | None = None,
    cpu_weight: str | None = None,
    memory: str | None = None,
    memory_swap: str | None = None,
    pids: str | None = None,
    cpuset: str | None = None,
    io_weight: str | None = None,
    io_max: Sequence[str] = (),
    clear: bool = False,
    into: str | None = None,
) -> LimitRequest:
    """Parse `limit`'s options. `clear` removes the CPU, memory, swap and pids limits."""
    if clear:
        given = [
            f"--{n}"
            for n, v in (("cpu", cpu), ("memory", memory), ("memory-swap", memory_swap), ("pids", pids))
            if v
        ]
        if given:
            raise InvalidRequest(f"--clear removes every limit: give it without {', '.join(given)}")
        cpu = memory = memory_swap = pids = MAX
    request = LimitRequest(
        cpu=parse_cpu(cpu) if cpu is not None else None,
        cpu_period=parse_count(cpu_period, "--cpu-period", PERIOD_MIN, PERIOD_MAX, unit=" µs")
        if cpu_period is not None
        else None,
        cpu_weight=parse_count(cpu_weight, "--cpu-weight", WEIGHT_MIN, WEIGHT_MAX)
        if cpu_weight is not None
        else None,
        memory=parse_size(memory, "--memory") if memory is not None else None,
        memory_swap=parse_size(memory_swap, "--memory-swap") if memory_swap is not None else None,
        pids=parse_limit_count(pids, "--pids", 1, PID_MAX_LIMIT) if pids is not None else None,
        cpuset=parse_cpuset(cpuset) if cpuset is not None else None,
        io_weight=parse_count(io_weight, "--io-weight", WEIGHT_MIN, WEIGHT_MAX)
        if io_weight is not None
        else None,
        io_max=_io_limits(io_max),
        into=parse_cgroup_path(into, what="--into", relative_ok=True) if into is not None else None,
    )
    if not request.controllers():
        raise InvalidRequest(
            "nothing to change: give --cpu, --cpu-period, --cpu-weight, --memory, --memory-swap, --pids, "
            "--cpuset, --io-weight, --io-max or --clear"
        )
    if request.into is not None and not any(request.sets(c) for c in request.controllers()):
        raise InvalidRequest("--into makes a cgroup for the target: give it with a limit to set there")
    mem, swap = request.memory, request.memory_swap
    if isinstance(mem, int) and isinstance(swap, int) and swap < mem:
        raise InvalidRequest(
            f"--memory-swap {format_size(swap)} is below --memory {format_size(mem)}: "
            "it counts memory plus swap"
        )
    return request


def parse_cpu(text: str) -> float | Max:
    """ "20%" (of one CPU, as top counts), "1.5" (CPUs) or "max"."""
    if text == MAX:
        return MAX
    if text.startswith("-"):
        raise InvalidRequest(f"--cpu {text}: a CPU limit must be more than zero (--cpu max removes it)")
    m = _CPU.fullmatch(text)
    if not m:
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
    m = _SIZE.fullmatch(text.strip())
    if not m:
        raise InvalidRequest(
            f"{option} {text!r}: give a size such as 256M, 1.5G or 268435456 (bytes), or max"
        )
    value = int(Decimal(m[1]) * 1024 ** _POWERS[m[2].lower()])
    if value <= 0:
        raise InvalidRequest(
            f"{option} {text}: a size must be more than zero ({option} max removes the limit)"
        )
    if value > SIZE_MAX:
        raise InvalidRequest(f"{option} {text}: more than the kernel can count (2^63 - 1 bytes)")
    return value


def parse_count(text: str, option: str, lo: int, hi: int, *, unit: str = "") -> int:
    if not text.isdigit():
        raise InvalidRequest(f"{option} {text!r}: give a whole number from {lo} to {hi}{unit}")
    value = int(text)
    if not lo <= value <= hi:
        raise InvalidRequest(f"{option} {text}: must be from {lo} to {hi}{unit}")
    return value


def parse_limit_count(text: str, option: str, lo: int, hi: int) -> int | Max:
    return MAX if text == MAX else parse_count(text, option, lo, hi)


def parse_cpuset(text: str) -> frozenset[int] | Max:
    """A cpu list ("0-1", "0,2"; cgroup-v2.rst, cpuset.cpus) or "max" (all of the parent's CPUs)."""
    if text == MAX:
        return MAX
    ranges = [part.partition("-") for part in text.split(",")]
    if not _CPULIST.fullmatch(text) or any(last and int(last) < int(first) for first, _, last in ranges):
        raise InvalidRequest(f"--cpuset {text!r}: give CPUs as the kernel lists them: 0-1, 0,2 or 3")
    return frozenset(cpulist(text))


def parse_io_max(text: str) -> IoLimit:
    """ "MAJ:MIN:rbps=1M,wbps=max,riops=100,wiops=max" (bytes per second take size units)."""
    device, sep, spec = text.rpartition(":") if text.count(":") >= 2 else ("", "", text)
    m = _DEVICE.fullmatch(device)
    if not sep or not m:
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
            values[key] = parse_limit_count(value, f"--io-max {key}", 1, SIZE_MAX)
    return IoLimit(int(m[1]), int(m[2]), values)


def _io_limits(texts: Sequence[str]) -> tuple[IoLimit, ...]:
    limits = [parse_io_max(t) for t in texts]
    devices = [limit.device for limit in limits]
    twice = sorted({d for d in devices if devices.count(d) > 1})
    if twice:
        raise InvalidRequest(f"--io-max: device {twice[0]} given twice: put all its limits in one --io-max")
    return tuple(limits)


def format_size(value: int | Max) -> str:
    """268435456 -> "256 MiB" (four significant digits)."""
    if value == MAX:
        return MAX
    for unit, power in (("TiB", 4), ("GiB", 3), ("MiB", 2), ("KiB", 1)):
        if value >= 1024**power:
            return f"{value / 1024**power:.4g} {unit}"
    return f"{value} B"


def format_cpulist(cpus: frozenset[int]) -> str:
    """The shortest cpu-list for a set, as the kernel prints it: {0, 1, 2, 5} -> "0-2,5"."""
    parts: list[str] = []
    run: list[int] = []
    for cpu in sorted(cpus):
        if run and cpu != run[-1] + 1:
            parts.append(_run(run))
            run = []
        run.append(cpu)
    if run:
        parts.append(_run(run))
    return ",".join(parts)


def _run(run: list[int]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"
