"""The collector's caches: what a refresh may reuse, and what it must read again."""

import shutil
from pathlib import Path

from fakehost import FakeHost

from cgscope.fs.files import counting_opens
from cgscope.fs.hostroot import HostRoot
from cgscope.model.collect import Collector
from cgscope.model.containers import group_containers


def set_ns(h: FakeHost, pid: int, kind: str, inode: int) -> None:
    link = h.path(f"/proc/{pid}/ns/{kind}")
    link.unlink()
    link.symlink_to(f"{kind}:[{inode}]")


def test_placements_are_read_when_new_and_once_more_then_kept(tmp_path: Path) -> None:
    h = FakeHost(tmp_path, "v2")
    for pid in (1, 10, 11):
        h.add_process(pid, "sh", ["sh"])
    collector = Collector(HostRoot.at(h.root))
    before = collector.placements(collector.pids())
    set_ns(h, 10, "mnt", 4026539999)  # 10 unshares its mount namespace right after it was first read
    assert collector.placements(collector.pids())[10]["mnt"] == 4026539999  # read once more: settled
    with counting_opens() as opens:
        for _ in range(3):
            assert collector.placements(collector.pids())[10]["mnt"] == 4026539999
    assert opens.links.total() == 0  # then kept for the process's life: no readlink a refresh
    assert before[11] == collector.placements(collector.pids())[11]


def test_placements_read_a_new_process_at_once(tmp_path: Path) -> None:
    h = FakeHost(tmp_path, "v2")
    for pid in (1, 10):
        h.add_process(pid, "sh", ["sh"])
    collector = Collector(HostRoot.at(h.root))
    collector.placements(collector.pids())
    # 10 exits and a new process gets its pid, in another pid namespace: a new /proc/10 directory
    # (built aside and renamed, so that the file system cannot hand it the old inode number).
    h.add_process(12, "sh", ["sh"], ns={"pid": 4026538888})
    shutil.rmtree(h.path("/proc/10"))
    h.path("/proc/12").rename(h.path("/proc/10"))
    assert collector.placements(collector.pids())[10]["pid"] == 4026538888


def test_a_containers_init_is_read_afresh_its_members_recalled(tmp_path: Path) -> None:
    h = FakeHost(tmp_path, "v2")
    h.add_process(1, "init", ["/sbin/init"], ppid=0)
    inside = {"pid": 4026532500, "mnt": 4026532501}
    h.add_process(20, "sh", ["sh"], nspid=(20, 1), ns=inside)
    h.add_process(21, "sleep", ["sleep", "9"], ppid=20, nspid=(21, 2), ns=inside)
    host = HostRoot.at(h.root)
    collector = Collector(host)
    [before] = group_containers(host, collector).containers
    assert (before.init_pid, before.cgroup["unified"]) == (20, "/")
    # `cgscope limit` moved the container's processes into a cgroup of their own.
    for pid in (20, 21):
        h.path(f"/proc/{pid}/cgroup").write_text("0::/cgscope-20\n")
    [after] = group_containers(host, collector).containers
    assert after.cgroup["unified"] == "/cgscope-20"  # the init is read afresh: the move shows at once
    assert after.pids == (20, 21)
