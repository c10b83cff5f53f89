"""What `limit` is asked to do: the one table of its options, and the request parsed from them.

Each entry of LIMIT_OPTIONS is one option — its flag, help, an example, its parser, the controller
whose planner writes it (limit_writes.py, a method `_<controller>`) and the interface files it
writes. From the table come `cgscope limit`'s argparse options, the dashboard's limit form, the command
line the journal records, the "nothing to change" message, and the files the writer accepts
(paths.WRITABLE). A new limit is one entry here (and its LimitRequest field) plus its planner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cgscope import units
from cgscope.control.errors import InvalidRequest
from cgscope.control.values import (
    MAX,
    IoLimit,
    Max,
    count_or_max,
    number,
    parse_cgroup_path,
    parse_cpu,
    parse_cpuset,
    parse_io_max,
    parse_size,
    plain,
)

PERIOD_MIN, PERIOD_MAX = 1_000, 1_000_000  # µs: the kernel's CFS period bounds (kernel/sched/core.c)
QUOTA_MIN = 1_000  # µs: the kernel refuses a quota under 1 ms
WEIGHT_MIN, WEIGHT_MAX = 1, 10_000  # cpu.weight and io.weight (cgroup-v2.rst)
PID_MAX_LIMIT = 4_194_304  # include/linux/threads.h: no pid count above this means anything


@dataclass(frozen=True)
class LimitOption:
    flag: str  # "--cpu"; its LimitRequest field (argparse's dest) is the flag's name in snake case
    metavar: str
    help: str
    example: str  # what the dashboard's field suggests
    parse: Callable[[str], object]
    controller: str | None  # whose planner writes it; None: says where, not what
    files: tuple[str, ...] = ()  # the interface files it writes (cgroup v1 and v2)
    repeat: bool = False  # may be given more than once (argparse's append)
    form: bool = True  # a field of the dashboard's limit form
    cleared: bool = False  # --clear sets it to max

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


LIMIT_OPTIONS: tuple[LimitOption, ...] = (
    LimitOption(
        "--cpu", "SHARE", "CPU time: a percentage of one CPU (20%), a number of CPUs (1.5), or max",
        "20% of one CPU, 1.5 CPUs, or max", parse_cpu, "cpu",
        ("cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.max"), cleared=True,
    ),
    LimitOption(
        "--cpu-period", "USEC", f"the CFS period the quota counts in ({PERIOD_MIN}-{PERIOD_MAX} µs)",
        "100000 µs", lambda t: number(t, "--cpu-period", PERIOD_MIN, PERIOD_MAX, unit=" µs"), "cpu",
        ("cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.max"), form=False,
    ),
    LimitOption(
        "--cpu-weight", "N", "CPU weight 1-10000, default 100 (v1: cpu.shares = N * 1024 / 100)",
        "1-10000 (default 100)", lambda t: number(t, "--cpu-weight", WEIGHT_MIN, WEIGHT_MAX), "cpu",
        ("cpu.shares", "cpu.weight"),
    ),
    LimitOption(
        "--memory", "SIZE", "memory limit: 256M, 1.5G, bytes, or max", "256M, 1.5G, or max",
        lambda t: parse_size(t, "--memory"), "memory", ("memory.limit_in_bytes", "memory.max"), cleared=True,
    ),
    LimitOption(
        "--memory-swap", "SIZE", "memory + swap limit, as docker's --memory-swap, or max",
        "memory + swap: 512M, or max", lambda t: parse_size(t, "--memory-swap"), "memory",
        ("memory.memsw.limit_in_bytes", "memory.swap.max"), cleared=True,
    ),
    LimitOption(
        "--pids", "N", "most processes and threads at once, or max", "most tasks at once: 100, or max",
        lambda t: count_or_max(t, "--pids", 1, PID_MAX_LIMIT), "pids", ("pids.max",), cleared=True,
    ),
    LimitOption(
        "--cpuset", "CPUS", "the CPUs it may run on: 0-1, 0,2, or max (all of the parent's)",
        "CPUs it may run on: 0-1, or max", parse_cpuset, "cpuset", ("cpuset.cpus",),
    ),
    LimitOption(
        "--io-weight", "N", "IO weight 1-10000 (v1 BFQ: 1-1000)", "1-10000 (default 100)",
        lambda t: number(t, "--io-weight", WEIGHT_MIN, WEIGHT_MAX), "io", ("io.weight", "blkio.bfq.weight"),
        form=False,
    ),
    LimitOption(
        "--io-max", "MAJ:MIN:KEY=V,...",
        "IO limits for a disk: rbps, wbps (bytes/s), riops, wiops; each a number or max",
        "8:0:rbps=1M,wiops=100", parse_io_max, "io",
        ("io.max", *(f"blkio.throttle.{d}_{k}_device" for d in ("read", "write") for k in ("bps", "iops"))),
        repeat=True, form=False,
    ),
    LimitOption(
        "--into", "NAME", "put the target in this cgroup: a name below its cgroup, or /PATH",
        "a cgroup name, or /PATH", lambda t: parse_cgroup_path(t, what="--into", relative_ok=True), None,
        form=False,
    ),
)  # fmt: skip
OPTIONS = {o.dest: o for o in LIMIT_OPTIONS}
CLEARED = [o for o in LIMIT_OPTIONS if o.cleared]
CLEAR_HELP = f"remove the {', '.join(o.flag for o in CLEARED[:-1])} and {CLEARED[-1].flag} limits"

Given = str | Sequence[str] | None  # an option's text as given: None when absent, a list if repeatable


@dataclass(frozen=True)
class LimitRequest:
    """The parsed options: one field per entry of LIMIT_OPTIONS (None, or () for a repeatable one, when
    not given)."""

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

    def _values(self, controller: str) -> list[object]:
        return [getattr(self, o.dest) for o in LIMIT_OPTIONS if o.controller == controller]

    def controllers(self) -> list[str]:
        """The controllers the request needs, in the order their writes are planned (the table's)."""
        names = dict.fromkeys(o.controller for o in LIMIT_OPTIONS if o.controller is not None)
        return [name for name in names if any(v not in (None, ()) for v in self._values(name))]

    def sets(self, controller: str) -> bool:
        """True if the request sets a limit or weight for `controller` (not only removes limits)."""
        return any(_sets(v) for v in self._values(controller))


def _sets(value: object) -> bool:
    if isinstance(value, tuple):
        return any(_sets(v) for v in value)
    if isinstance(value, IoLimit):
        return any(v != MAX for v in value.values.values())
    return value is not None and value != MAX


def nothing_to_change() -> str:
    flags = [o.flag for o in LIMIT_OPTIONS if o.controller is not None]
    return f"nothing to change: give {', '.join(flags)} or --clear"


def parse_request(*, clear: bool = False, **given: Given) -> LimitRequest:
    """Parse `limit`'s options, given as texts by their dest ("cpu", "memory_swap"; a list for
    --io-max). `clear` removes the limits the table marks `cleared`."""
    texts = {dest: text for dest, text in given.items() if text is not None and text != []}
    unknown = set(texts) - set(OPTIONS)
    if unknown:
        raise TypeError(f"not a limit option: {', '.join(sorted(unknown))}")
    if clear:
        also = [o.flag for o in CLEARED if o.dest in texts]
        if also:
            raise InvalidRequest(f"--clear removes every limit: give it without {', '.join(also)}")
        texts.update({o.dest: MAX for o in CLEARED})
    parsed: dict[str, Any] = {}
    for dest, text in texts.items():
        option = OPTIONS[dest]
        if option.repeat:
            items = [text] if isinstance(text, str) else list(text)
            parsed[dest] = tuple(option.parse(plain(option.flag, t)) for t in items)
        else:
            assert isinstance(text, str), dest
            parsed[dest] = option.parse(plain(option.flag, text))
    request = LimitRequest(**parsed)
    _check(request)
    return request


def _check(request: LimitRequest) -> None:
    """What no single option's parser can see."""
    if not request.controllers():
        raise InvalidRequest(nothing_to_change())
    if request.into is not None and not any(request.sets(c) for c in request.controllers()):
        raise InvalidRequest("--into makes a cgroup for the target: give it with a limit to set there")
    mem, swap = request.memory, request.memory_swap
    if isinstance(mem, int) and isinstance(swap, int) and swap < mem:
        raise InvalidRequest(
            f"--memory-swap {units.size(swap)} is below --memory {units.size(mem)}: "
            "it counts memory plus swap"
        )
    devices = [limit.device for limit in request.io_max]
    twice = sorted({d for d in devices if devices.count(d) > 1})
    if twice:
        raise InvalidRequest(f"--io-max: device {twice[0]} given twice: put all its limits in one --io-max")


def command_line(ref: str, given: Mapping[str, Given], *, clear: bool = False) -> list[str]:
    """The command line the journal records, as `cgscope limit` would have been typed."""
    command = ["limit", ref]
    for option in LIMIT_OPTIONS:
        text = given.get(option.dest)
        for item in [text] if isinstance(text, str) else list(text or ()):
            command += [option.flag, item]
    return command + ["--clear"] * clear


def written_files() -> frozenset[str]:
    """Every interface file a limit writes."""
    return frozenset(name for option in LIMIT_OPTIONS for name in option.files)


# -- the options people bring from `docker run` and `docker update` ----------------------------------


def _cpus(value: str | None) -> str:
    try:
        cpus = parse_cpu(value or "")
    except InvalidRequest:
        return "did you mean --cpu N% (a share of one CPU: Docker's --cpus 1.5 is --cpu 150%)?"
    return f"did you mean --cpu {MAX if cpus == MAX else f'{cpus * 100:g}%'}?"


def _cpu_shares(value: str | None) -> str:
    """cgscope writes cpu.shares = weight * 1024 / 100 (the kernel's own mapping): the weight that
    writes the same shares."""
    try:
        shares = number(value or "", "--cpu-shares", 2, 262_144)
    except InvalidRequest:
        return "did you mean --cpu-weight N (1-10000, default 100: cpu.shares = N * 1024 / 100)?"
    weight = min(WEIGHT_MAX, max(WEIGHT_MIN, round(shares * 100 / 1024)))
    return f"did you mean --cpu-weight {weight}? (cpu.shares {shares} = weight {weight} * 1024 / 100)"


def _pids_limit(value: str | None) -> str:
    if value in ("0", "-1"):  # Docker's "unlimited"
        return "did you mean --pids max?"
    return f"did you mean --pids {value if value and value.isascii() and value.isdigit() else 'N'}?"


def _renamed(flag: str) -> Callable[[str | None], str]:
    return lambda value: f"did you mean {flag} {value or OPTIONS[flag[2:].replace('-', '_')].metavar}?"


DOCKER_FLAGS: Mapping[str, Callable[[str | None], str]] = {
    "--cpus": _cpus,
    "--cpu-shares": _cpu_shares,
    "--cpuset-cpus": _renamed("--cpuset"),
    "--pids-limit": _pids_limit,
    "-m": _renamed("--memory"),
    "--blkio-weight": _renamed("--io-weight"),
    "--memory-reservation": lambda value: (
        "that is Docker's soft limit, which cgscope does not set: --memory sets a hard one "
        "(the kernel reclaims, then OOM-kills, above it)"
    ),
}


def docker_hint(flag: str, value: str | None) -> str:
    """One line for a Docker option given to `cgscope limit`: the cgscope option, its value converted."""
    return f"{flag} is Docker's option: {DOCKER_FLAGS[flag](value)}"
