"""A recorded frame (history/codec.py) shows what the live Frame showed: the containers rows and the
container detail's usage, on every fixture host, from the second refresh on (rates known). Anything
else than a frame of this format is one line, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import astuple, replace
from pathlib import Path

import pytest
from fakehost import FakeHost
from hosts import counters, dashboard, inventory
from hosts.node import node_host

from cgscope.errors import CgscopeError
from cgscope.fs.files import decode as fsdecode
from cgscope.fs.hostroot import HostRoot
from cgscope.history.codec import FORMAT, decode, encode
from cgscope.render.columns import Level
from cgscope.render.columns.containers import COLUMNS
from cgscope.render.views import container_ref
from cgscope.sampling import Frame, Sampler
from cgscope.tui.screens.container_detail import summary, usage_lines
from cgscope.tui.screens.containers import rows_of

ODD = b"\xff\xfe\x1b[2J"  # not UTF-8, and an escape sequence

HOSTS: dict[str, Callable[[Path], FakeHost]] = {
    "dashboard-v2": lambda p: dashboard.dashboard_host(p, "v2"),
    "dashboard-v1": lambda p: dashboard.dashboard_host(p, "v1"),
    "dashboard-hybrid": lambda p: dashboard.dashboard_host(p, "hybrid"),
    "counters-v2": counters.v2_host,
    "counters-hybrid": counters.hybrid_host,
    "inventory-v2": inventory.v2_host,
    "inventory-v1": inventory.v1_host,
    "inventory-hybrid": inventory.hybrid_host,
    "oci": inventory.oci_host,
    "node-v2": lambda p: node_host(p, "v2", containers=12, host_processes=20),
}


def second_frame(h: FakeHost) -> Frame:
    sampler = Sampler(HostRoot.at(h.root))
    sampler.sample(frozenset())
    return sampler.sample(frozenset())


def shown(frame: Frame) -> list[tuple[str, list[tuple[str, Level | None]]]]:
    """Each containers row as the tables show it: every column's text and colour."""
    out = []
    for key, row in rows_of(frame, "unified"):
        out.append((key, [(c.cell(row).text, c.cell(row).level) for c in COLUMNS]))
    return out


def detail(frame: Frame) -> list[str]:
    inv = frame.inventory
    lines = []
    for c in inv.containers:
        row = frame.container_usage.get(c.id)
        state = frame.states.get(c.id)
        lines += [summary(c, inv, len(c.pids), state), usage_lines(row.usage if row else None, state)]
    return lines


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_a_recorded_frame_shows_the_same_rows(name: str, tmp_path: Path) -> None:
    frame = second_frame(HOSTS[name](tmp_path))
    assert frame.inventory.containers, "a host with containers"
    back = decode(encode(frame))
    assert shown(back) == shown(frame)
    assert detail(back) == detail(frame)
    assert [container_ref(c) for c in back.inventory.containers] == [
        container_ref(c) for c in frame.inventory.containers
    ]
    assert (back.number, back.hostname, back.kernel, back.system) == (
        frame.number,
        frame.hostname,
        frame.kernel,
        frame.system,
    )
    assert back.processes is None and back.trees is None and back.detail is None


def test_inits_and_inventory_survive(tmp_path: Path) -> None:
    frame = second_frame(inventory.v2_host(tmp_path))
    back = decode(encode(frame))
    inv, was = back.inventory, frame.inventory
    assert inv.containers == was.containers
    assert inv.host_pids == was.host_pids and inv.host_namespaces == was.host_namespaces
    assert inv.container_of == was.container_of
    for c in was.containers:
        p, q = inv.processes[c.init_pid], was.processes[c.init_pid]
        assert (p.comm, p.cmdline, p.user, p.uid, p.start_ticks, p.nspid, p.ppid) == (
            q.comm,
            q.cmdline,
            q.user,
            q.uid,
            q.start_ticks,
            q.nspid,
            q.ppid,
        )
        assert abs(p.start_time - q.start_time) < 0.01
        assert p.cgroups == q.cgroups and p.namespaces == q.namespaces
    assert back.states == frame.states


def test_odd_bytes_in_names_survive(tmp_path: Path) -> None:
    """A bare container whose cgroup, command and arguments hold bytes that are not UTF-8."""
    h = FakeHost(tmp_path, "v2")
    h.add_process(1, "init", ["/sbin/init"], ppid=0)
    h.add_process(2, "kthreadd", ppid=0, kernel_thread=True)
    odd = "/user.slice/box" + fsdecode(ODD)
    h.add_process(300, "sh", ["sh"], cgroup="/user.slice", ns={"pid": 4026532900}, nspid=(300, 1))
    stat = h.path("/proc/300/stat")
    stat.write_bytes(stat.read_bytes().replace(b"(sh)", b"(sh" + ODD + b")"))
    h.path("/proc/300/cmdline").write_bytes(b"/tmp/" + ODD + b"\0-c\0")
    h.path("/proc/300/cgroup").write_bytes(b"0::/user.slice/box" + ODD + b"\n")
    h.path("/sys/fs/cgroup" + odd).mkdir(parents=True)
    h.path("/sys/fs/cgroup" + odd + "/cgroup.procs").write_text("300\n")
    frame = second_frame(h)
    [c] = frame.inventory.containers
    assert c.name == "box" + fsdecode(ODD)
    data = encode(frame)
    data.decode("ascii")  # ensure_ascii: the bytes are escapes, the file is plain ASCII
    back = decode(data)
    assert back.inventory.containers == frame.inventory.containers
    init = back.inventory.processes[c.init_pid]
    assert init.cmdline == ("/tmp/" + fsdecode(ODD), "-c")
    assert init.comm == frame.inventory.processes[c.init_pid].comm
    assert shown(back) == shown(frame)


def test_the_format_is_written_in_each_frame(tmp_path: Path) -> None:
    frame = second_frame(dashboard.dashboard_host(tmp_path))
    data = json.loads(encode(frame))
    assert data["v"] == FORMAT
    assert {"n", "t", "h", "k", "s", "hn", "hp", "u", "c"} <= data.keys()


def _edited(tmp_path: Path, edit: Callable[[dict[str, object]], object]) -> bytes:
    data = json.loads(encode(second_frame(dashboard.dashboard_host(tmp_path))))
    edit(data)
    return json.dumps(data).encode()


def _first(data: dict[str, object]) -> dict[str, object]:
    containers = data["c"]
    assert isinstance(containers, list)
    first = containers[0]
    assert isinstance(first, dict)
    return first


GARBAGE: dict[str, Callable[[dict[str, object]], object]] = {
    "another format": lambda d: d.update(v=FORMAT + 1),
    "no containers": lambda d: d.pop("c"),
    "a name that is a number": lambda d: _first(d).update(n=7),
    "a pid that is a string": lambda d: _first(d).update(ip="1"),
    "a flag for a pid": lambda d: _first(d).update(ip=True),
    "cpu figures cut short": lambda d: _first(d)["u"].update(c=[1.0]),  # type: ignore[attr-defined]
    "a bad cpuset": lambda d: _first(d)["u"]["c"].__setitem__(2, "3-1"),  # type: ignore[index]
    "an unknown state": lambda d: _first(d).update(st=["dancing", None]),
    "psi of three": lambda d: _first(d)["u"].update(psi={"cpu": [1, 2, 3]}),  # type: ignore[attr-defined]
    "system as a string": lambda d: d.update(s="x"),
    "a list at the top": lambda d: d.clear(),
}


@pytest.mark.parametrize("case", sorted(GARBAGE))
def test_a_damaged_frame_is_one_line(case: str, tmp_path: Path) -> None:
    data = _edited(tmp_path, GARBAGE[case])
    with pytest.raises(CgscopeError) as err:
        decode(data)
    assert "\n" not in str(err.value) and str(err.value).startswith("a recorded frame")


@pytest.mark.parametrize(
    "data", [b"", b"\xff\xfe", b"{", b"[]", b"null", b'{"v": 1}', b"[" * 100_000, b"\x00" * 10]
)
def test_garbage_is_one_line(data: bytes) -> None:
    with pytest.raises(CgscopeError) as err:
        decode(data)
    assert "\n" not in str(err.value)


def test_rates_and_derived_shares_come_back(tmp_path: Path) -> None:
    frame = second_frame(counters.v2_host(tmp_path))
    back = decode(encode(frame))
    [(key, row)] = frame.container_usage.items()
    was, now = row.usage, back.container_usage[key].usage
    assert was.interval is not None and now.interval is not None and abs(now.interval - was.interval) < 1e-3
    assert was.cpu is not None and now.cpu is not None and now.cpu.limit_cpus == was.cpu.limit_cpus
    assert now.cpu.limit_percent == was.cpu.limit_percent and now.cpu.cpuset == was.cpu.cpuset
    assert now.memory == was.memory and now.pids == was.pids and now.pressure == was.pressure
    assert was.io is not None and now.io is not None
    for now_rate, was_rate in zip(astuple(now.io), astuple(was.io), strict=True):
        assert abs(now_rate - was_rate) <= abs(was_rate) * 5e-4 + 0.005  # 4 significant digits, 0.01 at most
    assert now.io.read_bytes_per_s == int(now.io.read_bytes_per_s)  # bytes/s whole


def test_which_figures_are_the_processes_comes_back(tmp_path: Path) -> None:
    """A container some of whose figures are its processes' (its IO, say: the root blkio cgroup's are
    the host's) is replayed saying which, as the live dashboard says it."""
    frame = second_frame(counters.v2_host(tmp_path))
    [(key, row)] = frame.container_usage.items()
    mixed = replace(row, usage=replace(row.usage, from_processes=frozenset({"io", "tasks"})))
    back = decode(encode(replace(frame, container_usage={key: mixed})))
    assert back.container_usage[key].usage.from_processes == {"io", "tasks"}
    assert back.container_usage[key].usage.source_of("io") == "processes"
    assert decode(encode(frame)).container_usage[key].usage.from_processes == frozenset()
