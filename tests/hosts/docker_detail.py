"""A v2 host with one Docker container ("web", nginx) on overlay2 as Docker lays it out, and what
`inspect` and `diff` read of it: the mount table of a real capture, privileges, id maps, the LSM label.
"""

from __future__ import annotations

import os
from pathlib import Path

from fakehost import FakeHost
from helpers import write

DID = "4f3c2a1b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"  # the Docker container


CACHE = "9c1d5c1e4f7a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4"  # its overlay2 directory


IMAGE = "173b18ac608b226783ea7eb39909c23b093ae0b3892c702538ab834c7e933ff5"


OWN = {"cgroup": 4026532301, "ipc": 4026532302, "mnt": 4026532303, "net": 4026532304, "pid": 4026532305}


OWN_UTS = {**OWN, "uts": 4026532306}


DOCKER_CAPS = "00000000a80425fb"


O2 = "/var/lib/docker/overlay2"


DOCKER_MOUNTINFO = f"""\
1530 1411 0:61 / / rw,relatime master:312 - overlay overlay rw,lowerdir={O2}/l/Q3ZKHJ4W5NE6G2XU7LFOPRYTSA:{O2}/l/BCVD6MJ2HXS5QL7ERNKAWGUIZT,upperdir={O2}/{CACHE}/diff,workdir={O2}/{CACHE}/work,nouserxattr
1531 1530 0:64 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1532 1530 0:65 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64
1534 1530 0:67 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
1535 1534 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot
1538 1532 0:69 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k,inode64
1539 1530 8:1 /var/lib/docker/containers/{DID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw
1540 1530 8:1 /var/lib/docker/containers/{DID}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw
1541 1530 8:1 /var/lib/docker/containers/{DID}/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw
1416 1531 0:64 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw
1417 1531 0:64 /sysrq-trigger /proc/sysrq-trigger ro,nosuid,nodev,noexec,relatime - proc proc rw
1419 1531 0:71 / /proc/acpi ro,relatime - tmpfs tmpfs ro,inode64
1420 1531 0:65 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64
1424 1534 0:73 / /sys/firmware ro,relatime - tmpfs tmpfs ro,inode64
"""  # noqa: E501


PRIVILEGES = """CapInh:\t0000000000000000
CapPrm:\t{caps}
CapEff:\t{caps}
CapBnd:\t{caps}
CapAmb:\t0000000000000000
NoNewPrivs:\t0
Seccomp:\t{seccomp}
Seccomp_filters:\t{filters}
"""


def add_container_process(
    host: FakeHost,
    pid: int,
    cmdline: tuple[str, ...],
    *,
    cgroup: str,
    ns: dict[str, int],
    mountinfo: str,
    caps: str = DOCKER_CAPS,
    uid_map: str = "         0          0 4294967295\n",
    lsm: tuple[str, str] | None = None,
) -> None:
    """A container's PID 1 and what `inspect` reads of it: privileges in status, id maps, mountinfo, LSM."""
    host.add_process(
        pid, cmdline[0].rsplit("/", 1)[-1], cmdline, ppid=900, cgroup=cgroup, nspid=(pid, 1), ns=ns
    )
    d = host.path(f"/proc/{pid}")
    status = (d / "status").read_text().splitlines(keepends=True)
    unprivileged = "".join(line for line in status if not line.startswith("Cap"))
    (d / "status").write_text(unprivileged + PRIVILEGES.format(caps=caps, seccomp=2, filters=1))
    (d / "uid_map").write_text(uid_map)
    (d / "gid_map").write_text(uid_map)
    (d / "mountinfo").write_text(mountinfo)
    if lsm is not None:
        (d / lsm[0]).parent.mkdir(parents=True, exist_ok=True)
        (d / lsm[0]).write_text(lsm[1])


def fake_host(tmp_path: Path) -> FakeHost:
    """A v2 host with its init and kthreadd, which tell the host's namespaces."""
    host = FakeHost(tmp_path, "v2")
    host.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup="/init.scope")
    host.add_process(2, "kthreadd", ppid=0, kernel_thread=True)
    return host


def docker_detail_host(tmp_path: Path) -> FakeHost:
    """A v2 host with one Docker container ("web", nginx) on overlay2: image layer, init layer, container
    layer, Docker's l/<short> links, and the per-container hosts, hostname and resolv.conf."""
    host = fake_host(tmp_path)
    host.docker_container(DID, "web", 4242)
    add_container_process(
        host,
        4242,
        ("nginx", "-g", "daemon off;"),
        cgroup=f"/system.slice/docker-{DID}.scope",
        ns=OWN_UTS,
        mountinfo=DOCKER_MOUNTINFO,
        lsm=("attr/apparmor/current", "docker-default (enforce)\n"),
    )
    host.write("/proc/sysrq-trigger", "")
    image = host.path(f"{O2}/{IMAGE}/diff")
    for rel, text in {
        "etc/passwd": "root:x:0:0\n",
        "etc/nginx/nginx.conf": "events {}\n",
        "srv/a": "a",
        "srv/b": "b",
    }.items():
        write(image / rel, text)
    init = host.path(f"{O2}/{CACHE}-init/diff")
    for rel in ("etc/hosts", "etc/hostname", "etc/resolv.conf"):
        write(init / rel, "")
    links = host.path(f"{O2}/l")
    links.mkdir()
    (links / "Q3ZKHJ4W5NE6G2XU7LFOPRYTSA").symlink_to(f"../{CACHE}-init/diff")
    (links / "BCVD6MJ2HXS5QL7ERNKAWGUIZT").symlink_to(f"../{IMAGE}/diff")
    upper = host.path(f"{O2}/{CACHE}/diff")
    write(upper / "etc" / "nginx" / "nginx.conf", "events { worker_connections 64; }\n")
    write(upper / "var" / "cache" / "nginx" / "client_temp" / "0001", "0123456789")
    host.path(f"{O2}/{CACHE}/work").mkdir()
    for rel in ("etc", "etc/nginx"):
        st = os.stat(image / rel)
        os.utime(upper / rel, ns=(st.st_atime_ns, st.st_mtime_ns))
    for name in ("hosts", "hostname", "resolv.conf"):
        host.write(f"/var/lib/docker/containers/{DID}/{name}", f"{name}\n")
    return host
