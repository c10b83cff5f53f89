"""Events between two frames of the fixture hosts (hosts/counters.py), with OOM victims from a kernel log
as /dev/kmsg gives it (hosts/kmsg_oom.txt: records "PRIO,SEQ,USEC,FLAGS;message", continuation lines
indented, as Documentation/ABI/testing/dev-kmsg shows them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakehost import FakeHost
from helpers import files
from hosts.counters import CID, V1_CG, V2_CG, hybrid_host, v2_host, with_host_files

from cgscope.errors import CgscopeError
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.kmsg import Kill, parse_kills, record_text
from cgscope.history.events import Detector, Event
from cgscope.sampling import Sampler
from cgscope.sampling.frame import Frame

KMSG = Path(__file__).parent / "hosts" / "kmsg_oom.txt"


def kmsg_records() -> list[bytes]:
    """The fixture's records, each as one read(2) of /dev/kmsg returns it."""
    records: list[bytes] = []
    for line in KMSG.read_bytes().splitlines(keepends=True):
        if line.startswith(b" ") and records:
            records[-1] += line
        else:
            records.append(line)
    return records


class FixtureLog:
    """The kernel log of the fixture, told a few records at a time."""

    def __init__(self) -> None:
        self.error: str | None = None
        self.pending: list[bytes] = []

    def log(self, first: int, last: int) -> None:
        self.pending += kmsg_records()[first:last]

    def messages(self) -> list[str]:
        found, self.pending = [record_text(r) for r in self.pending], []
        return found


def cg(h: FakeHost, key: str, cgroup: str) -> Path:
    d = h.cgroup_dir(key, cgroup)
    assert d is not None
    return d


def test_the_log_tells_each_victim_with_its_memcg() -> None:
    kills = parse_kills([record_text(r) for r in kmsg_records()])
    assert kills == [
        Kill(4243, "nginx", V2_CG),
        Kill(777, "chrome", "/user.slice/user-1000.slice/session-3.scope"),
        Kill(4250, "a,b (c)", f"{V1_CG}/worker"),
    ]


def test_oom_kill_limit_throttling_and_pressure_on_v2(tmp_path: Path) -> None:
    h = v2_host(tmp_path)
    sampler, log = Sampler(HostRoot.at(h.root)), FixtureLog()
    detector = Detector(log)
    first = sampler.sample(())
    assert detector.step(None, first) == []
    top = cg(h, "unified", V2_CG)
    files(
        top,
        cpu__stat="usage_usec 5500000\nuser_usec 4400000\nsystem_usec 1100000\n"
        "nr_periods 200\nnr_throttled 170\nthrottled_usec 9000000\n",
        cpu__max="50000 100000\n",
        memory__events="low 0\nhigh 0\nmax 14\noom 2\noom_kill 2\noom_group_kill 0\n",
        memory__pressure="some avg10=25.00 avg60=3.00 avg300=1.00 total=99999\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    )
    log.log(0, 7)  # the container's kill and the host's
    second = sampler.sample(())
    events = detector.step(first, second)
    ref = {"id": CID, "name": "web", "runtime": "docker", "init_pid": 4242}
    at = second.taken_at
    assert events == [
        Event(at, "oom_kill", ref, {"victim_pid": 4243, "victim_comm": "nginx"}),
        Event(at, "limit_changed", ref, {"file": "cpu.max", "old": 0.2, "new": 0.5}),
        Event(at, "throttled", ref, {"percent": 80.0}),
        Event(at, "memory_pressure", ref, {"some_avg10": 25.0}),
    ]
    third = sampler.sample(())  # still above the thresholds: not told again
    assert detector.step(second, third) == []


def test_a_victim_logged_after_its_counter_moved_is_matched_a_frame_later(tmp_path: Path) -> None:
    h = hybrid_host(tmp_path)
    sampler, log = Sampler(HostRoot.at(h.root)), FixtureLog()
    detector = Detector(log)
    first = sampler.sample(())
    detector.step(None, first)
    files(cg(h, "memory", V1_CG), memory__oom_control="oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
    second = sampler.sample(())
    assert detector.step(first, second) == []  # counted, not yet logged
    log.log(7, 9)
    third = sampler.sample(())
    [event] = detector.step(second, third)
    assert (event.kind, event.detail) == ("oom_kill", {"victim_pid": 4250, "victim_comm": "a,b (c)"})
    assert event.container["name"] == "web" and event.at == third.taken_at


def test_without_the_log_a_kill_is_told_with_its_victim_unknown(tmp_path: Path) -> None:
    h = hybrid_host(tmp_path)
    sampler = Sampler(HostRoot.at(h.root))
    detector = Detector(None)
    first = sampler.sample(())
    files(cg(h, "memory", V1_CG), memory__oom_control="oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    files(cg(h, "pids", V1_CG), pids__max="128\n")
    events = detector.step(first, sampler.sample(()))
    assert [(e.kind, e.detail) for e in events] == [
        *[("oom_kill", {"victim_pid": None, "victim_comm": None})] * 3,
        ("limit_changed", {"file": "pids.max", "old": 64, "new": 128}),
    ]


def test_a_cpuset_changed_is_told_as_the_cpu_lists_an_unchanged_one_not(tmp_path: Path) -> None:
    h = hybrid_host(tmp_path)
    sampler = Sampler(HostRoot.at(h.root))
    first = sampler.sample(())
    second = sampler.sample(())
    assert Detector(None).step(first, second) == []
    files(cg(h, "cpuset", V1_CG), cpuset__cpus="3\n", cpuset__effective_cpus="3\n")
    [event] = Detector(None).step(second, sampler.sample(()))
    assert (event.kind, event.detail) == ("limit_changed", {"file": "cpuset.cpus", "old": "2-3", "new": "3"})


def test_kept_limits_tell_a_change_once_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = hybrid_host(tmp_path)
    now = [100.0]
    monkeypatch.setattr("cgscope.model.usage.time.monotonic", lambda: now[0])
    sampler = Sampler(HostRoot.at(h.root), limits_seconds=30)
    first = sampler.sample(())
    files(cg(h, "pids", V1_CG), pids__max="128\n")
    now[0] += 10
    second = sampler.sample(())  # the limits as read 10 s ago
    assert Detector(None).step(first, second) == []
    now[0] += 20
    third = sampler.sample(())
    [event] = Detector(None).step(second, third)
    assert (event.kind, event.detail) == ("limit_changed", {"file": "pids.max", "old": 64, "new": 128})


def test_started_and_exited(tmp_path: Path) -> None:
    with_one = Sampler(HostRoot.at(v2_host(tmp_path / "a").root)).sample(())
    bare = with_host_files(FakeHost(tmp_path / "b", "v2"))
    bare.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup="/init.scope", start_ticks=1)
    without: Frame = Sampler(HostRoot.at(bare.root)).sample(())
    ref = {"id": CID, "name": "web", "runtime": "docker", "init_pid": 4242}
    assert Detector().step(with_one, without) == [Event(without.taken_at, "exited", ref)]
    assert Detector().step(without, with_one) == [Event(with_one.taken_at, "started", ref)]


def test_events_round_trip_and_garbage_is_one_line() -> None:
    event = Event(1.5, "oom_kill", {"id": "x", "name": "n\udcff", "runtime": "bare", "init_pid": 1}, {"a": 1})
    assert Event.from_json(event.to_json()) == event
    for garbage in (b"", b"[]", b'{"at": 1}', b"\xff", b'{"at":1,"kind":"x","container":{},"detail":{}}'):
        with pytest.raises(CgscopeError):
            Event.from_json(garbage)


BARE_PID_NS = 4026532411  # the inode of the pid namespace of each bare container below


def bare_host(tmp: Path, init: int) -> FakeHost:
    """The v2 host with a bare container (`unshare -p -f`) in a cgroup of its own, whose init is `init`:
    two such hosts are two bare containers, one made after the other was gone, that got the same pid
    namespace inode from the kernel, and so the same id."""
    h = v2_host(tmp)
    where = f"/box-{init}"
    h.add_process(init - 1, "unshare", ["unshare", "-p", "-f", "sh"], cgroup=where)
    h.add_process(init, "sh", ["sh"], ppid=init - 1, cgroup=where, nspid=[init, 1],
                  ns={"pid": BARE_PID_NS, "mnt": BARE_PID_NS - 1})  # fmt: skip
    files(cg(h, "unified", where), cpu__stat="usage_usec 10\nuser_usec 5\nsystem_usec 5\n")
    return h


def test_a_bare_containers_id_given_again_is_an_exit_and_a_start(tmp_path: Path) -> None:
    first = Sampler(HostRoot.at(bare_host(tmp_path / "a", 701).root)).sample(())
    then = Sampler(HostRoot.at(bare_host(tmp_path / "b", 801).root)).sample(())
    found = [(e.kind, e.container["id"], e.container["init_pid"]) for e in Detector().step(first, then)]
    bare = f"pid-{BARE_PID_NS}"
    assert found == [("started", bare, 801), ("exited", bare, 701)]
