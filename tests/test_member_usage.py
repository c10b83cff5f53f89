"""A bare container whose cgroup (a login session's) holds other processes too is measured by its own
processes: CPU from their stat (with the children they reaped), memory from smaps_rollup else statm, IO
from /proc/PID/io, against the cgroup's limits; what an exited member used stays counted."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakehost import FakeHost
from helpers import cli_json, files
from hosts.counters import MIB, v2_host
from hosts.members import remove, set_times, write_io, write_rollup, write_statm

from cgscope.fs.hostroot import HostRoot
from cgscope.fs.process_counters import parse_io, parse_rollup
from cgscope.model.borrowed import MEASURED
from cgscope.model.derive import derive
from cgscope.model.member_usage import MEMBERS_DEVICE, MemberUsage
from cgscope.model.usage import Overview, Sample
from cgscope.sampling import Sampler

SESSION = "/user.slice/user-1000.slice/session-1.scope"
INSIDE = {"pid": 4026532411, "mnt": 4026532410}
NS = 1_000_000_000


def session_host(tmp_path: Path) -> FakeHost:
    """bash (busy, no member) in a session; `unshare -p -f sh` from it, sh's two children; an
    `nsenter -t 602 -p` from the host whose child is in the container's pid namespace."""
    h = v2_host(tmp_path)
    add = h.add_process
    add(600, "bash", ["-bash"], cgroup=SESSION, uid=1000)
    add(601, "unshare", ["unshare", "-p", "-f", "sh"], ppid=600, cgroup=SESSION, ns={"mnt": INSIDE["mnt"]})
    add(602, "sh", ["sh"], ppid=601, cgroup=SESSION, nspid=[602, 1], ns=INSIDE)
    add(603, "worker", ["worker"], ppid=602, cgroup=SESSION, nspid=[603, 2], ns=INSIDE)
    add(604, "make", ["make"], ppid=602, cgroup=SESSION, nspid=[604, 3], ns=INSIDE)
    add(605, "nsenter", ["nsenter", "-t", "602", "-p"], ppid=600, cgroup=SESSION)
    add(606, "sh", ["sh"], ppid=605, cgroup=SESSION, nspid=[606, 4], ns=INSIDE)
    set_times(h, 600, 5000, 1000)
    set_times(h, 601, 2, 2)
    set_times(h, 602, 10, 5)
    set_times(h, 603, 100, 20)
    set_times(h, 604, 50, 10, cutime=25, cstime=5)  # make reaped a compiler while a member
    set_times(h, 606, 30, 10)
    for pid, anon, file in ((601, 100, 300), (602, 400, 200), (603, 4000, 1000), (606, 300, 100)):
        write_rollup(h, pid, anon_kib=anon, file_kib=file)
    write_statm(h, 604, resident_pages=512, shared_pages=128)  # smaps_rollup not offered: statm
    for pid in (600, 601, 602, 603, 604, 605, 606):
        write_io(h, pid, read_bytes=pid * 1000, write_bytes=pid * 10)
    scope = h.cgroup_dir("unified", SESSION)
    assert scope is not None
    files(scope, cpu__stat="usage_usec 900000000\nuser_usec 600000000\nsystem_usec 300000000\n",
          memory__max=f"{512 * MIB}\n", memory__current=f"{500 * MIB}\n", memory__stat="anon 1\nfile 2\n",
          memory__events="oom_kill 3\n", pids__max="200\n", pids__current="9\n")  # fmt: skip
    return h


def container_sample(members: MemberUsage, overview: Overview) -> Sample:
    sample = members.apply(overview.sample())
    found = [w for w in sample.watched if w.container.init_pid == 602]
    assert len(found) == 1 and found[0].shared
    return sample.containers[found[0].container.id]


def ticks_ns(members: MemberUsage, ticks: int) -> int:
    return ticks * NS // members.ticks


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    return session_host(tmp_path)


def test_the_figures_are_the_members_and_the_limits_the_cgroups(host: FakeHost) -> None:
    root = HostRoot.at(host.root)
    overview, members = Overview(root), MemberUsage(root)
    s = container_sample(members, overview)
    assert s.from_processes == MEASURED
    assert s.cpu is not None and s.cpu.usage_ns == ticks_ns(members, 4 + 15 + 120 + 90 + 40)
    assert s.memory is not None
    page = members.page_size
    assert s.memory.usage == (400 + 600 + 5000 + 400) * 1024 + 512 * page
    assert s.memory.stat.anon == (100 + 400 + 4000 + 300) * 1024 + 384 * page
    assert (s.memory.limit, s.memory.oom_kills, s.memory.swap) == (512 * MIB, None, None)  # statm: no swap
    assert s.pids is not None and (s.pids.current, s.pids.max) == (5, 200)  # unshare is one
    assert s.io is not None and s.io[MEMBERS_DEVICE].read_bytes == (601 + 602 + 603 + 604 + 606) * 1000
    assert s.pressure == {}


def test_an_exited_member_does_not_take_its_cpu_with_it(host: FakeHost) -> None:
    root = HostRoot.at(host.root)
    overview, members = Overview(root), MemberUsage(root)
    first = container_sample(members, overview)
    # make exits and sh waits for it: sh's cutime/cstime gain make's times and its reaped children's
    # (kernel/exit.c, wait_task_zombie), and sh's io its io. The worker runs 200 ticks, bash 10,000.
    remove(host, 604)
    set_times(host, 602, 10, 5, cutime=50 + 25, cstime=10 + 5)
    write_io(host, 602, read_bytes=602_000 + 604_000, write_bytes=6020 + 6040)
    set_times(host, 603, 300, 20)
    set_times(host, 600, 15000, 1000)
    second = container_sample(members, overview)
    assert first.cpu is not None and second.cpu is not None
    assert second.cpu.usage_ns - first.cpu.usage_ns == ticks_ns(members, 200)
    assert first.io is not None and second.io is not None
    assert second.io[MEMBERS_DEVICE].read_bytes == first.io[MEMBERS_DEVICE].read_bytes
    # nsenter's child exits and nsenter, outside the container, reaps it: what it used stays counted.
    remove(host, 606)
    set_times(host, 603, 310, 20)
    third = container_sample(members, overview)
    assert third.cpu is not None and third.cpu.usage_ns - second.cpu.usage_ns == ticks_ns(members, 10)
    assert third.io is not None and third.io[MEMBERS_DEVICE] == second.io[MEMBERS_DEVICE]
    usage = derive(second, third, 1.0)
    assert usage.source == "processes"
    assert usage.cpu is not None and usage.cpu.host_percent == pytest.approx(10 * 100 / members.ticks)


def test_rates_between_a_cgroups_counters_and_the_members_are_unknown(host: FakeHost) -> None:
    root = HostRoot.at(host.root)
    overview, members = Overview(root), MemberUsage(root)
    cgroup = overview.sample()
    own = members.apply(cgroup)
    key = next(iter(k for k, v in own.containers.items() if v.from_processes == MEASURED))
    usage = derive(cgroup.containers[key], own.containers[key], 1.0)
    assert usage.cpu is not None and usage.cpu.host_percent is None and usage.io is None


def test_the_frame_and_top_json_say_where_the_figures_come_from(host: FakeHost) -> None:
    sampler = Sampler(HostRoot.at(host.root))
    frame = sampler.sample(frozenset())
    sources = {r.watched.container.name: r.usage.source for r in frame.container_usage.values()}
    assert sources["sh"] == "processes"
    assert {v for k, v in sources.items() if k != "sh"} == {"cgroup"}
    assert frame.usage is not None and frame.usage.source == "cgroup"  # the host is the host


def test_the_usage_files_parse_as_the_kernel_writes_them() -> None:
    rollup = "55a0-7ffd ---p 00000000 00:00 0 [rollup]\nRss: 1700 kB\nPss: 214 kB\nPss_Anon: 116 kB\n"
    rollup += "Pss_File: 98 kB\nPss_Shmem: 0 kB\nSwapPss: 8 kB\n"
    m = parse_rollup(rollup, "smaps_rollup")
    assert (m.resident, m.anon, m.file, m.swap) == (214 * 1024, 116 * 1024, 98 * 1024, 8 * 1024)
    assert parse_rollup("", "smaps_rollup").resident == 0  # a zombie's: no memory
    io = "rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 0\nread_bytes: 4096\nwrite_bytes: 8192\n"
    assert parse_io(io + "cancelled_write_bytes: 0\n", "io") == (4096, 8192)


def test_containers_json_says_which_containers_are_measured_by_their_processes(host: FakeHost) -> None:
    sources = {c["init_pid"]: c["source"] for c in cli_json(host, "containers")["containers"]}
    assert sources.pop(602) == "processes"
    assert set(sources.values()) == {"cgroup"}
