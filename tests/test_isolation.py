"""The isolation map: capabilities decoded, proc(5) privilege fields, id maps, LSM labels, masked /proc paths
as runtimes mount them, and the notes on what a container shares with the host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fakehost import HOST_NS

from cgscope.fs.mounttable import parse_mountinfo
from cgscope.fs.security import Security, parse_id_map, read_lsm_label, security_of
from cgscope.fs.status import Status
from cgscope.model.isolation import (
    CAPABILITIES,
    build_isolation,
    cap_names,
    map_id,
    masked_and_readonly,
    namespace_states,
)

DOCKER_DEFAULT_CAPS = 0x00000000A80425FB  # moby's default set: CapEff of a `docker run` process
FULL_CAPS = 0x000001FFFFFFFFFF  # CapBnd of root on a 5.9+ kernel: capabilities 0..40

# /proc/PID/status of a `docker run` process (Linux 6.1): Docker's default seccomp profile, no new privs off.
DOCKER_STATUS = """Name:\tnginx
Umask:\t0022
State:\tS (sleeping)
Tgid:\t4242
Ngid:\t0
Pid:\t4242
PPid:\t4221
TracerPid:\t0
Uid:\t0\t0\t0\t0
Gid:\t0\t0\t0\t0
FDSize:\t64
Groups:\t0 1 2 3 4 6 10 11 20 26 27
NStgid:\t4242\t1
NSpid:\t4242\t1
NSpgid:\t4242\t1
NSsid:\t4242\t1
VmPeak:\t   11400 kB
Threads:\t1
SigQ:\t0/63457
SigPnd:\t0000000000000000
ShdPnd:\t0000000000000000
SigBlk:\t0000000000000000
SigIgn:\t0000000040001000
SigCgt:\t0000000198016a07
CapInh:\t0000000000000000
CapPrm:\t00000000a80425fb
CapEff:\t00000000a80425fb
CapBnd:\t00000000a80425fb
CapAmb:\t0000000000000000
NoNewPrivs:\t0
Seccomp:\t2
Seccomp_filters:\t1
Speculation_Store_Bypass:\tthread force mitigated
Cpus_allowed_list:\t0-3
voluntary_ctxt_switches:\t52
nonvoluntary_ctxt_switches:\t3
"""

# /proc/self/mountinfo inside a `docker run` container, cgroup v1 host (the layout of Docker 24 with runc:
# the rootfs overlay, /proc with runc's maskedPaths and readonlyPaths, /sys read-only).
DOCKER_PROC_MOUNTS = """\
1530 1411 0:61 / / rw,relatime master:312 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/Q3ZKHJ4W5NE6G2XU7LFOPRYTSA:/var/lib/docker/overlay2/l/BCVD6MJ2HXS5QL7ERNKAWGUIZT,upperdir=/var/lib/docker/overlay2/5f1c0f3e3a8b9d2e6c7a4b1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f/diff,workdir=/var/lib/docker/overlay2/5f1c0f3e3a8b9d2e6c7a4b1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f/work
1531 1530 0:64 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1532 1530 0:65 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64
1533 1532 0:66 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666
1534 1530 0:67 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
1535 1534 0:68 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755,inode64
1536 1535 0:29 /docker/4f3c2a1b /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:19 - cgroup cgroup rw,memory
1537 1532 0:63 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw
1538 1532 0:69 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k,inode64
1539 1530 8:1 /var/lib/docker/containers/4f3c2a1b/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw
1540 1530 8:1 /var/lib/docker/containers/4f3c2a1b/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw
1541 1530 8:1 /var/lib/docker/containers/4f3c2a1b/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw
1412 1532 0:66 /0 /dev/console rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666
1413 1531 0:64 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw
1414 1531 0:64 /fs /proc/fs ro,nosuid,nodev,noexec,relatime - proc proc rw
1415 1531 0:64 /irq /proc/irq ro,nosuid,nodev,noexec,relatime - proc proc rw
1416 1531 0:64 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw
1417 1531 0:64 /sysrq-trigger /proc/sysrq-trigger ro,nosuid,nodev,noexec,relatime - proc proc rw
1418 1531 0:70 / /proc/asound ro,relatime - tmpfs tmpfs ro,inode64
1419 1531 0:71 / /proc/acpi ro,relatime - tmpfs tmpfs ro,inode64
1420 1531 0:65 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64
1421 1531 0:65 /null /proc/keys rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64
1422 1531 0:65 /null /proc/timer_list rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64
1423 1531 0:72 / /proc/scsi ro,relatime - tmpfs tmpfs ro,inode64
1424 1534 0:73 / /sys/firmware ro,relatime - tmpfs tmpfs ro,inode64
1425 1534 0:74 / /sys/devices/virtual/powercap ro,relatime - tmpfs tmpfs ro,inode64
"""  # noqa: E501


def test_capability_names_follow_capability_h() -> None:
    assert len(CAPABILITIES) == 41 and CAPABILITIES[40] == "CAP_CHECKPOINT_RESTORE"
    assert CAPABILITIES[21] == "CAP_SYS_ADMIN" and CAPABILITIES[25] == "CAP_SYS_TIME"
    assert cap_names(DOCKER_DEFAULT_CAPS) == (
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_RAW",
        "CAP_SYS_CHROOT",
        "CAP_MKNOD",
        "CAP_AUDIT_WRITE",
        "CAP_SETFCAP",
    )
    assert cap_names(FULL_CAPS) == CAPABILITIES
    assert cap_names(1 << 41 | 1) == ("CAP_CHOWN", "CAP_41")  # a capability newer than this list
    assert cap_names(0) == ()


def test_status_privilege_fields() -> None:
    sec = security_of(Status(DOCKER_STATUS, "/proc/4242/status"))
    assert sec == Security(
        euid=0,
        cap_effective=DOCKER_DEFAULT_CAPS,
        cap_permitted=DOCKER_DEFAULT_CAPS,
        cap_bounding=DOCKER_DEFAULT_CAPS,
        cap_ambient=0,
        no_new_privs=False,
        seccomp=2,
        seccomp_filters=1,
    )
    # Linux 4.9: no NoNewPrivs, no Seccomp_filters, no CapAmb lines
    old = "\n".join(
        line
        for line in DOCKER_STATUS.splitlines()
        if not line.startswith(("NoNewPrivs", "Seccomp_filters", "CapAmb"))
    )
    sec = security_of(Status(old, "/proc/4242/status"))
    assert (sec.no_new_privs, sec.seccomp_filters, sec.cap_ambient, sec.seccomp) == (None, None, None, 2)


def test_id_maps_tell_where_root_inside_lands() -> None:
    host = parse_id_map("         0          0 4294967295\n", "uid_map")
    rootless = parse_id_map("         0       1000          1\n         1     100000      65536\n", "uid_map")
    assert host == ((0, 0, 4294967295),)
    assert map_id(host, 0) == 0
    assert (map_id(rootless, 0), map_id(rootless, 1), map_id(rootless, 65536)) == (1000, 100000, 165535)
    assert map_id(rootless, 65537) is None
    assert map_id((), 0) is None  # an empty map (nothing written yet): root inside is unmapped


def test_lsm_labels(tmp_path: Path) -> None:
    proc = tmp_path
    (proc / "10" / "attr" / "apparmor").mkdir(parents=True)
    (proc / "10" / "attr" / "apparmor" / "current").write_text("docker-default (enforce)\n")
    (proc / "11" / "attr").mkdir(parents=True)
    (proc / "11" / "attr" / "current").write_bytes(b"system_u:system_r:container_t:s0:c123,c456\0")
    (proc / "12" / "attr").mkdir(parents=True)  # no LSM answers
    assert read_lsm_label(proc, 10) == ("apparmor", "docker-default (enforce)")
    assert read_lsm_label(proc, 11) == ("selinux", "system_u:system_r:container_t:s0:c123,c456")
    assert read_lsm_label(proc, 12) is None


def test_lsm_label_of_this_process_reads_without_error() -> None:
    found = read_lsm_label(Path("/proc"), os.getpid())  # EINVAL here: no LSM on this kernel
    assert found is None or isinstance(found[1], str)


def test_runc_masked_and_readonly_paths() -> None:
    masked, readonly = masked_and_readonly(parse_mountinfo(DOCKER_PROC_MOUNTS, "mountinfo"))
    assert masked == (
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/scsi",
        "/proc/timer_list",
        "/sys/devices/virtual/powercap",
        "/sys/firmware",
    )
    assert readonly == ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", "/sys")


def test_a_read_only_tmpfs_holding_mounts_is_no_mask() -> None:
    # a hybrid host's /sys/fs/cgroup: systemd mounts a read-only tmpfs and the hierarchies on it
    host = parse_mountinfo(
        "25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
        "26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw\n",  # noqa: E501
        "mountinfo",
    )
    assert masked_and_readonly(host) == ((), ())


# -- the notes -----------------------------------------------------------------------------------

PRIVATE = {
    t: 4026532000 + i for i, t in enumerate(("cgroup", "ipc", "mnt", "net", "pid", "uts", "user", "time"))
}


def isolation_notes(
    own: tuple[str, ...],
    caps: int,
    *,
    seccomp: int = 2,
    uid_map: str = "0 0 4294967295",
    mounts: str = DOCKER_PROC_MOUNTS,
    sysrq: bool = True,
) -> set[str]:
    namespaces = {t: (PRIVATE[t] if t in own else HOST_NS[t]) for t in HOST_NS}
    shared = tuple(t for t in HOST_NS if t not in own)
    sec = Security(0, caps, caps, caps, 0, False, seccomp, 1 if seccomp == 2 else 0)
    table = parse_mountinfo(mounts, "mountinfo")
    i = build_isolation(
        namespace_states(namespaces, HOST_NS, shared),
        sec=sec,
        id_maps=(parse_id_map(uid_map, "uid_map"), parse_id_map(uid_map, "gid_map")),
        lsm=None,
        lsm_known=True,
        mounts=table,
        root=table[0],
        sysrq=sysrq,
    )
    return {n.id for n in i.notes}


DOCKER_OWN = ("cgroup", "ipc", "mnt", "net", "pid", "uts")


def test_docker_defaults_leave_only_root_shared() -> None:
    assert isolation_notes(DOCKER_OWN, DOCKER_DEFAULT_CAPS) == {"root-is-host-root"}


def test_privileged_host_network_and_pid() -> None:
    # docker run --privileged --net=host --pid=host: all capabilities, no seccomp, nothing masked
    plain_proc = "1 0 0:61 / / rw - overlay overlay rw,lowerdir=/l\n2 1 0:64 / /proc rw - proc proc rw\n"
    notes = isolation_notes(("ipc", "mnt", "uts", "cgroup"), FULL_CAPS, seccomp=0, mounts=plain_proc)
    assert notes == {
        "root-is-host-root",
        "host-clock",
        "kernel-modules",
        "sys-admin",
        "kernel-log",
        "host-reboot",
        "host-pid",
        "host-network",
        "no-seccomp",
        "sysrq",
    }
    # the same on a kernel without CONFIG_MAGIC_SYSRQ
    assert "sysrq" not in isolation_notes(("ipc",), FULL_CAPS, seccomp=0, mounts=plain_proc, sysrq=False)


def test_time_namespace_does_not_protect_the_realtime_clock() -> None:
    # docker run --cap-add SYS_TIME, even in a time namespace of its own
    with_time = (*DOCKER_OWN, "time")
    assert "host-clock" in isolation_notes(
        with_time, DOCKER_DEFAULT_CAPS | 1 << CAPABILITIES.index("CAP_SYS_TIME")
    )


def test_user_namespace_confines_capabilities() -> None:
    # rootless: all capabilities, but in a user namespace of its own whose root is host uid 1000
    notes = isolation_notes((*DOCKER_OWN, "user"), FULL_CAPS, uid_map="0 1000 1\n1 100000 65536")
    assert notes == set()


@pytest.mark.parametrize(("shared", "note"), [("ipc", "host-ipc"), ("mnt", "host-mounts")])
def test_shared_namespaces_noted(shared: str, note: str) -> None:
    own = tuple(t for t in DOCKER_OWN if t != shared)
    assert note in isolation_notes(own, DOCKER_DEFAULT_CAPS)


def test_unknown_namespaces_are_neither_own_nor_shared() -> None:
    states = namespace_states({**HOST_NS, "net": None}, {**HOST_NS, "pid": None}, ("ipc", "mnt", "uts"))
    by_type = {s.type: s.shared for s in states}
    assert (by_type["net"], by_type["pid"], by_type["ipc"], by_type["user"]) == (None, None, True, False)
