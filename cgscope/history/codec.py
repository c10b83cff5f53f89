"""One recorded frame: the containers view and the host of a sampling Frame, as compact JSON.

The schema is the store's format (FORMAT), written out key by key rather than dumped from the
dataclasses, so a change of a dataclass never changes what is on disk unnoticed:

    {"v": FORMAT, "n": number, "t": taken_at (s, ms precision), "h": hostname, "k": kernel,
     "s": [cpus, [load1, load5, load15] | null, mem_total_kib, mem_available_kib, uptime_s],
     "hn": {ns type: inode | null}, "hp": host pids, "un": uninspected pids (left out when none),
     "u": host usage | null, "c": [container, ...]}
    container: {"i": id, "n": name, "r": runtime, "ip": init pid, "p": pids,
     "cg": [[path, hierarchy, ...], ...], "sh": [ns types shared with the host (their inodes: "hn")],
     "ns": {ns type: inode | null} of the others,
     optional: "pod": [uid, qos, namespace, name, container], "im": image,
     "init": [start_ticks, start_time, ppid, comm, state, kernel_thread, uid, user, nspid, [argv...]],
     "icg": the init's cgroups ("cg"'s shape) where not the container's, "st": [activity, runtime_paused],
     "u": usage, "x": 1 when its cgroup is shared (its counters are not its alone)}
    usage: {"dt": interval | null, "c": [host_percent, quota_cpus, cpuset, throttled_percent,
     throttled_seconds] | null, "m": [usage, working_set, anon, file, swap, limit, oom_kills] | null,
     "p": [current, max] | null, "io": [read B/s, write B/s (whole bytes), read ops/s, write ops/s] | null,
     "psi": {kind: [some avg10, avg60, avg300, total_us (, full's four)]},
     optional: "src": "processes" where the figures are the container's processes' (model/member_usage),
     "fp": [the figures that are, where not all: "cpu", "memory", "tasks", "io"] (model/borrowed)}

Pid lists are sorted and written as differences (the first pid, then each step), which compresses
well. What follows from other figures is not stored but derived again as model/derive.py derives it:
the CPU allowance and the shares of the limits. Percentages are kept to 0.01 (ten times finer than
any table shows), I/O rates to 4 significant digits (bytes per second whole, operations to 0.01 at
most: a rate over an interval timed to the millisecond is not known closer), seconds to the
millisecond: digits beyond those would cost most of a compressed frame. Strings are written with
ensure_ascii, so a name holding bytes that are not UTF-8 (decoded with surrogateescape, as os.fsdecode
does) survives as the same str.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, cast

from cgscope.fs.cgroup_pids import PidsCounters
from cgscope.fs.parse import cpulist
from cgscope.fs.pressure import Pressure, PressureLine
from cgscope.fs.system import SystemInfo
from cgscope.history.fields import (
    WHAT,
    bad,
    cgroups,
    integer,
    items,
    namespaces,
    number,
    numbers,
    obj,
    opt_integer,
    opt_number,
    opt_text,
    pids,
    text,
)
from cgscope.model.borrowed import MEASURED, Figure
from cgscope.model.cgdirs import CgroupDirs
from cgscope.model.containers import Container, Inventory
from cgscope.model.derive import ContainerUsage, CpuUsage, IoUsage, MemoryUsage, Usage, allowance
from cgscope.model.process import Process
from cgscope.model.runtimes import Pod
from cgscope.model.state import ContainerState
from cgscope.model.usage import Watched
from cgscope.sampling.frame import Frame
from cgscope.units import cpulist as cpus_text

FORMAT = 1
RATE_DIGITS = 4  # significant digits of an I/O rate
_NOWHERE = CgroupDirs(None, None, None, None, None, None, None)  # recorded counters are read nowhere


# -- encode --------------------------------------------------------------------------------------------


def encode(frame: Frame) -> bytes:
    return dumps(frame_object(frame))


def dumps(frame: Mapping[str, object]) -> bytes:
    """A frame's JSON object as the store keeps it."""
    return json.dumps(frame, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def frame_object(frame: Frame) -> dict[str, object]:
    """The JSON object of a frame (the schema above)."""
    inv = frame.inventory
    s = frame.system
    load = None if s.load is None else list(s.load)
    out: dict[str, object] = {
        "v": FORMAT,
        "n": frame.number,
        "t": round(frame.taken_at, 3),
        "h": frame.hostname,
        "k": frame.kernel,
        "s": [s.cpus, load, s.mem_total_kib, s.mem_available_kib, _sec(s.uptime_s)],
        "hn": dict(inv.host_namespaces),
        "hp": _deltas(inv.host_pids),
    }
    if inv.uninspected:
        out["un"] = _deltas(inv.uninspected)
    out["u"] = _usage(frame.usage) if frame.usage is not None else None
    out["c"] = [_container(c, frame) for c in inv.containers]
    return out


def _container(c: Container, frame: Frame) -> dict[str, object]:
    out: dict[str, object] = {
        "i": c.id,
        "n": c.name,
        "r": c.runtime,
        "ip": c.init_pid,
        "p": _deltas(c.pids),
        "cg": _paths(c.cgroup),
        "ns": {t: inode for t, inode in c.namespaces.items() if t not in c.shared_with_host},
        "sh": list(c.shared_with_host),
    }
    if c.pod is not None:
        p = c.pod
        out["pod"] = [p.uid, p.qos, p.namespace, p.name, p.container]
    if c.image is not None:
        out["im"] = c.image
    init = frame.inventory.processes.get(c.init_pid)
    if init is not None:
        out["init"] = [
            init.start_ticks, round(init.start_time, 2), init.ppid, init.comm, init.state,
            int(init.kernel_thread), init.uid, init.user, init.nspid, list(init.cmdline),
        ]  # fmt: skip
        if dict(init.cgroups) != dict(c.cgroup):
            out["icg"] = _paths(init.cgroups)
    state = frame.states.get(c.id)
    if state is not None:
        out["st"] = [state.activity, state.runtime_paused]
    row = frame.container_usage.get(c.id)
    if row is not None:
        out["u"] = _usage(row.usage)
        if row.watched.shared:
            out["x"] = 1
    return out


def _usage(u: Usage) -> dict[str, object]:
    c, m, p, io = u.cpu, u.memory, u.pids, u.io
    out: dict[str, object] = {
        "dt": _sec(u.interval),
        "c": _cpu(c) if c is not None else None,
        "m": _memory(m) if m is not None else None,
        "p": None if p is None else [p.current, p.max],
        "io": None if io is None else _io(io),
        "psi": {kind: _pressure(psi) for kind, psi in u.pressure.items()},
    }
    if u.source != "cgroup":
        out["src"] = u.source
    elif u.from_processes:
        out["fp"] = sorted(u.from_processes)
    return out


def _cpu(c: CpuUsage) -> list[object]:
    return [
        _pct(c.host_percent), c.quota_cpus, cpus_text(c.cpuset), _pct(c.throttled_percent),
        _sec(c.throttled_seconds),
    ]  # fmt: skip


def _memory(m: MemoryUsage) -> list[int | None]:
    return [
        m.usage_bytes, m.working_set_bytes, m.anon_bytes, m.file_bytes, m.swap_bytes, m.limit_bytes,
        m.oom_kills,
    ]  # fmt: skip


def _io(io: IoUsage) -> list[float]:
    return [_rate(io.read_bytes_per_s, 0), _rate(io.write_bytes_per_s, 0), _rate(io.read_ops_per_s, 2),
            _rate(io.write_ops_per_s, 2)]  # fmt: skip


def _rate(x: float, places: int) -> float:
    """A rate over an interval timed to the millisecond, to RATE_DIGITS significant digits (no more than
    `places` decimals): the fifth digit of a rate over ~5 s is below its timing's error."""
    if x == 0 or not math.isfinite(x):
        return x
    kept = round(x, min(places, RATE_DIGITS - 1 - math.floor(math.log10(abs(x)))))
    return int(kept) if places == 0 else kept


def _pressure(psi: Pressure) -> list[float | int]:
    lines = [psi.some] if psi.full is None else [psi.some, psi.full]
    return [x for line in lines for x in (line.avg10, line.avg60, line.avg300, line.total_us)]


def _pct(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _sec(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _paths(cgroups: Mapping[str, str]) -> list[list[str]]:
    """Cgroup paths by hierarchy, each path once: on v1 most hierarchies hold the same path."""
    by_path: dict[str, list[str]] = {}
    for key, path in cgroups.items():
        by_path.setdefault(path, []).append(key)
    return [[path, *keys] for path, keys in by_path.items()]


def _deltas(pids: Iterable[int]) -> list[int]:
    out, last = [], 0
    for pid in sorted(pids):
        out.append(pid - last)
        last = pid
    return out


# -- decode --------------------------------------------------------------------------------------------


def load(data: bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    """The JSON object of a frame of this format (given as its JSON, or as the object read already)."""
    try:
        top = json.loads(data) if isinstance(data, bytes) else data
    except (UnicodeDecodeError, ValueError, RecursionError):
        bad("not JSON")
    d = obj(top, "frame")
    if d.get("v") != FORMAT:
        bad(f"format {d.get('v')!r}, not {FORMAT}: written by another version of cgscope")
    return d


def decode(data: bytes | Mapping[str, Any]) -> Frame:
    """The Frame `data` holds; InvalidFormat (one line) for anything else."""
    d = load(data)
    system = items(d.get("s"), "s", 5)
    averages = system[1]
    info = SystemInfo(
        opt_integer(system[0], "s"),
        None if averages is None else cast(tuple[float, float, float], tuple(numbers(averages, "load", 3))),
        opt_integer(system[2], "s"),
        opt_integer(system[3], "s"),
        opt_number(system[4], "s"),
    )
    host_ns = namespaces(d.get("hn"), "hn")
    containers, processes, states, usage = [], {}, {}, {}
    for item in items(d.get("c"), "c"):
        c, init, state, row = _decode_container(obj(item, "container"), host_ns)
        containers.append(c)
        if init is not None:
            processes[c.init_pid] = init
        if state is not None:
            states[c.id] = state
        if row is not None:
            usage[c.id] = row
    inventory = Inventory(
        tuple(containers),
        tuple(pids(d.get("hp"), "hp")),
        {pid: c for c in containers for pid in c.pids},
        processes,
        host_ns,
        frozenset(pids(d.get("un", []), "un")),
    )
    host = d.get("u")
    return Frame(
        number=integer(d.get("n"), "n"),
        taken_at=number(d.get("t"), "t"),
        hostname=text(d.get("h"), "h"),
        kernel=text(d.get("k"), "k"),
        system=info,
        inventory=inventory,
        usage=None if host is None else decode_usage(obj(host, "u")),
        container_usage=usage,
        states=states,
    )


def _decode_container(
    d: Mapping[str, Any], host_ns: Mapping[str, int | None]
) -> tuple[Container, Process | None, ContainerState | None, ContainerUsage | None]:
    pod = d.get("pod")
    cgroup = cgroups(d.get("cg"), "cg")
    shared = tuple(text(t, "sh") for t in items(d.get("sh"), "sh"))
    if any(t not in host_ns for t in shared):
        bad("sh: a namespace type the host's list (hn) lacks")
    own = {**{t: host_ns[t] for t in shared}, **namespaces(d.get("ns"), "ns")}
    c = Container(
        id=text(d.get("i"), "i"),
        name=text(d.get("n"), "n"),
        runtime=text(d.get("r"), "r"),
        init_pid=integer(d.get("ip"), "ip"),
        pids=tuple(pids(d.get("p"), "p")),
        cgroup=cgroup,
        namespaces=own,
        shared_with_host=shared,
        pod=None if pod is None else _decode_pod(pod),
        image=opt_text(d.get("im"), "im"),
    )
    init = d.get("init")
    process = None
    if init is not None:
        process = _decode_init(c, init, cgroups(d["icg"], "icg") if "icg" in d else cgroup)
    state = None
    if "st" in d:
        activity, paused = items(d["st"], "st", 2)
        if activity not in (None, "running", "freezing", "frozen", "paused"):
            bad(f"no state {activity!r}")
        if paused is not None and not isinstance(paused, bool):
            bad("st: not a flag")
        state = ContainerState(activity, c.runtime, paused)
    row = None
    if "u" in d:
        shared = d.get("x", 0) == 1
        row = ContainerUsage(Watched(c, _NOWHERE, shared), decode_usage(obj(d["u"], "u")))
    return c, process, state, row


def _decode_pod(value: object) -> Pod:
    uid, qos, namespace, name, container = items(value, "pod", 5)
    return Pod(
        text(uid, "pod"), text(qos, "pod"), opt_text(namespace, "pod"), opt_text(name, "pod"),
        opt_text(container, "pod"),
    )  # fmt: skip


def _decode_init(c: Container, value: object, cgroups: Mapping[str, str]) -> Process:
    ticks, start, ppid, comm, state, kthread, uid, user, nspid, argv = items(value, "init", 10)
    return Process(
        pid=c.init_pid,
        start_ticks=integer(ticks, "init"),
        start_time=number(start, "init"),
        ppid=integer(ppid, "init"),
        comm=text(comm, "init"),
        state=text(state, "init"),
        kernel_thread=integer(kthread, "init") == 1,
        uid=integer(uid, "init"),
        user=text(user, "init"),
        nspid=opt_integer(nspid, "init"),
        cmdline=tuple(text(a, "init") for a in items(argv, "init")),
        cgroups=cgroups,
        namespaces=c.namespaces,
    )


def decode_usage(d: Mapping[str, Any], whole: bool = True) -> Usage:
    """The usage `d` holds; not `whole`: its CPU and memory alone (what a report sums)."""
    cpu = memory = tasks = io = None
    if (c := d.get("c")) is not None:
        host, quota, cpuset, throttled, throttled_s = items(c, "c", 5)
        host_percent, quota_cpus = opt_number(host, "c"), opt_number(quota, "c")
        cpus = _cpus(text(cpuset, "c"))
        limit = allowance(cpus, quota_cpus)
        share = None if host_percent is None or limit <= 0 else host_percent / limit
        throttling = opt_number(throttled, "c"), opt_number(throttled_s, "c")
        cpu = CpuUsage(host_percent, limit, share, quota_cpus, cpus, *throttling)
    if (m := d.get("m")) is not None:
        used, wset, anon, file, swap, limit_b, ooms = items(m, "m", 7)
        usage_bytes, limit_bytes = integer(used, "m"), opt_integer(limit_b, "m")
        share = usage_bytes / limit_bytes * 100 if limit_bytes else None
        levels = (integer(wset, "m"), integer(anon, "m"), integer(file, "m"), opt_integer(swap, "m"))
        memory = MemoryUsage(usage_bytes, *levels, limit_bytes, share, opt_integer(ooms, "m"))
    if not whole:
        return Usage(opt_number(d.get("dt"), "dt"), cpu, memory, None, None, {}, "cgroup")
    if (p := d.get("p")) is not None:
        current, most = items(p, "p", 2)
        tasks = PidsCounters(integer(current, "p"), opt_integer(most, "p"))
    if (rates := d.get("io")) is not None:
        io = IoUsage(*numbers(rates, "io", 4))
    pressure = {text(k, "psi"): _decode_pressure(v) for k, v in obj(d.get("psi", {}), "psi").items()}
    source = d.get("src", "cgroup")
    if source not in ("cgroup", "processes"):
        bad(f"src: {source!r} is not a source")
    figures = [text(f, "fp") for f in items(d.get("fp", []), "fp")]
    if not set(figures) <= MEASURED:
        bad(f"fp: {figures!r} are not figures processes tell")
    from_processes = frozenset(cast(list[Figure], figures))
    return Usage(opt_number(d.get("dt"), "dt"), cpu, memory, tasks, io, pressure, source, from_processes)


@lru_cache(maxsize=256)
def _cpus(text: str) -> tuple[int, ...]:
    """A recorded cpuset: a host's containers share a few, read again in every frame."""
    return cpulist(text, WHAT)


def _decode_pressure(value: object) -> Pressure:
    figures = items(value, "psi")
    if len(figures) not in (4, 8):
        bad("psi: not 4 or 8 figures")
    lines = [
        PressureLine(avg10, avg60, avg300, integer(figures[i + 3], "psi"))
        for i in range(0, len(figures), 4)
        for avg10, avg60, avg300 in [numbers(figures[i : i + 3], "psi", 3)]
    ]
    return Pressure(lines[0], lines[1] if len(lines) == 2 else None)
