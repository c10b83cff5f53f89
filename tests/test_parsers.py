"""Kernel file formats, parsed from the texts proc(5) and the cgroup documentation give."""

from pathlib import Path

import pytest

from cgscope.errors import InvalidFormat
from cgscope.fs.mounts import CgroupMount, v1_controllers
from cgscope.fs.mounttable import parse_mountinfo
from cgscope.fs.parse import flat_keyed
from cgscope.fs.procfs import parse_cgroup, parse_stat
from cgscope.fs.status import Status
from cgscope.model.runtimes import match_cgroup, unescape_unit

# 52 fields; comm "(a) b)" holds a space and both parentheses
STAT = (
    b"4242 ((a) b)) S 1 4242 4242 0 -1 4194560 120 0 0 0 7 3 0 0 20 0 2 0 98765 12345678 345 "
    b"18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
)


def test_stat_comm_with_spaces_and_parens() -> None:
    s = parse_stat(4242, STAT.decode(), "/proc/4242/stat")
    assert (s.comm, s.state, s.ppid, s.utime, s.stime) == ("(a) b)", "S", 1, 7, 3)
    assert (s.num_threads, s.start_ticks, s.rss_pages) == (2, 98765, 345)
    assert not s.kernel_thread


def test_status_nspid_last_field_is_innermost() -> None:
    text = b"Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\nPid:\t4242\nPPid:\t1\n"
    text += b"TracerPid:\t0\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n"
    text += b"NStgid:\t4242\t7\nNSpid:\t4242\t7\nNSpgid:\t4242\t7\n"
    st = Status(text.decode(), "/proc/4242/status")
    assert st.uid == 1000
    assert st.nspid == (4242, 7)


def test_proc_cgroup_hybrid_and_deleted() -> None:
    text = b"12:pids:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n0::/gone (deleted)\n"
    assert parse_cgroup(text.decode(), "/proc/42/cgroup") == [
        ("pids", "/docker/abc"),
        ("cpu,cpuacct", "/docker/abc"),
        ("name=systemd", "/docker/abc"),
        ("", "/gone"),
    ]


def test_mountinfo_cgroup_lines_and_escapes() -> None:
    text = (
        "25 31 0:22 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        "26 31 0:23 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "27 31 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
        "28 31 0:25 /docker/abc /mnt/with\\040space rw - cgroup cgroup rw,memory,clone_children\n"
        "29 31 0:26 / /proc rw - proc proc rw\n"
    )
    found = [m for m in parse_mountinfo(text, "/proc/self/mountinfo") if m.fstype.startswith("cgroup")]
    assert [(m.fstype, m.root, m.mountpoint) for m in found] == [
        ("cgroup2", "/", "/sys/fs/cgroup/unified"),
        ("cgroup", "/", "/sys/fs/cgroup/cpu,cpuacct"),
        ("cgroup", "/", "/sys/fs/cgroup/systemd"),
        ("cgroup", "/docker/abc", "/mnt/with space"),
    ]
    assert v1_controllers("rw,cpu,cpuacct") == ("cpu", "cpuacct")
    assert v1_controllers("rw,xattr,name=systemd") == ("name=systemd",)
    assert v1_controllers("rw,memory,clone_children,release_agent=/x") == ("memory",)


def test_cgroup_namespace_paths_map_through_the_mount_root() -> None:
    # Inside a container with its own cgroup namespace, its cgroup is mounted with root "/": paths
    # outside it read "/../..". From the host, a mount of a sub-tree has that sub-tree as root.
    sub = CgroupMount(1, ("memory",), Path("/mnt/m"), "/docker/abc")
    assert sub.directory("/docker/abc") == Path("/mnt/m")
    assert sub.directory("/docker/abc/child") == Path("/mnt/m/child")
    assert sub.directory("/docker/other") is None
    assert sub.directory("/docker/abcdef") is None
    assert sub.cgroup_path(Path("/mnt/m/child")) == "/docker/abc/child"
    inside = CgroupMount(2, (), Path("/sys/fs/cgroup"), "/")
    assert inside.directory("/../../system.slice") is None
    assert inside.directory("/") == Path("/sys/fs/cgroup")
    assert inside.cgroup_path(Path("/sys/fs/cgroup")) == "/"
    assert inside.cgroup_path(Path("/sys/fs/cgroup/a.slice/b")) == "/a.slice/b"
    assert sub.cgroup_path(Path("/mnt/m")) == "/docker/abc"
    with pytest.raises(ValueError):  # a sibling whose name begins with the mount point's
        sub.cgroup_path(Path("/mnt/mm/child"))
    at_root = CgroupMount(2, (), Path("/"), "/")  # a hierarchy mounted at / (a fixture, a chroot)
    assert at_root.cgroup_path(Path("/x/y")) == "/x/y"


def test_runtime_patterns() -> None:
    cid = "0123456789abcdef" * 4
    uid = "5f2a1b3c-1111-2222-3333-444455556666"
    cases = {
        f"/system.slice/docker-{cid}.scope": ("docker", cid),
        f"/docker/{cid}/nested": ("docker", cid),
        f"/machine.slice/libpod-{cid}.scope/container": ("podman", cid),
        f"/machine.slice/libpod-conmon-{cid}.scope": None,
        f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid.replace('-', '_')}.slice/"
        f"cri-containerd-{cid}.scope": ("containerd", cid),
        f"/kubepods/besteffort/pod{uid}/{cid}": ("kubernetes", cid),
        f"/system.slice/crio-conmon-{cid}.scope": None,
        "/lxc.payload.web": ("lxc", "web"),
        "/lxc.monitor.web": None,
        "/machine.slice/machine-my\\x2dbox.scope/payload": ("systemd-nspawn", "my-box"),
        "/machine.slice/machine-my\\x2dbox.scope/supervisor": None,
        "/machine.slice/machine-qemu\\x2d1\\x2dvm.scope": None,
        "/user.slice/user-1000.slice/session-1.scope": None,
    }
    for path, want in cases.items():
        m = match_cgroup(path)
        assert (None if m is None else (m.runtime, m.id)) == want, path
    pod = match_cgroup(f"/kubepods/pod{uid}/{cid}")
    assert pod is not None and pod.pod is not None and pod.pod.qos == "guaranteed" and pod.pod.uid == uid
    assert unescape_unit("my\\x2dbox") == "my-box"


def test_flat_keyed_gives_only_the_keys_asked_and_still_checks_the_file() -> None:
    stat = "cache 4096\nrss 8192\ntotal_cache 4096\ntotal_rss 8192\nhierarchical_memory_limit 1048576\n"
    keys = {"total_rss", "hierarchical_memory_limit", "total_swap"}
    assert flat_keyed(stat, "memory.stat", keys) == {"total_rss": 8192, "hierarchical_memory_limit": 1048576}
    assert flat_keyed(stat, "memory.stat")["cache"] == 4096
    # a last line without its newline is no kernel print: read line by line, with the same answer
    assert flat_keyed(stat.rstrip("\n"), "memory.stat", keys) == flat_keyed(stat, "memory.stat", keys)
    with pytest.raises(InvalidFormat):  # a malformed line fails the file, asked for or not
        flat_keyed(stat + "total_dirty x\n", "memory.stat", keys)
