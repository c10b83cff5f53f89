"""`cgscope inspect` and `cgscope diff` on fixture hosts laid out as Docker (overlay2 and aufs), Podman
(rootless, userxattr) and containerd (with SELinux) lay out their containers. The mount tables follow real
/proc/PID/mountinfo captures of such containers (ids, devices and numbers changed)."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from fakehost import HOST_NS, FakeHost
from helpers import cli, cli_json, write
from hosts.docker_detail import CACHE, DID, IMAGE, O2, OWN, OWN_UTS, add_container_process, fake_host

from cgscope.cli import main


def test_docker_overlay2_layers_top_first(docker_host: FakeHost) -> None:
    data = cli_json(docker_host, "inspect", "web")
    assert data["container"] == {"id": DID, "name": "web", "runtime": "docker", "init_pid": data["pid"]}
    rootfs = data["rootfs"]
    assert (rootfs["driver"], rootfs["workdir"]) == ("overlay", f"{O2}/{CACHE}/work")
    assert rootfs["mount"] == {
        "fstype": "overlay",
        "source": "overlay",
        "options": ["rw", "relatime"],
        "readonly": False,
    }
    assert [(x["role"], x["path"], x["resolved"]) for x in rootfs["layers"]] == [
        ("container", f"{O2}/{CACHE}/diff", None),
        ("init", f"{O2}/l/Q3ZKHJ4W5NE6G2XU7LFOPRYTSA", f"{O2}/{CACHE}-init/diff"),
        ("image", f"{O2}/l/BCVD6MJ2HXS5QL7ERNKAWGUIZT", f"{O2}/{IMAGE}/diff"),
    ]
    sizes = [(x["size"], x["files"]) for x in rootfs["layers"]]
    assert sizes == [(34 + 10, 2), (0, 3), (11 + 10 + 2, 4)]
    assert rootfs["file_mounts"] == [
        {
            "target": target,
            "source": f"/var/lib/docker/containers/{DID}/{name}",
            "fs_path": f"/var/lib/docker/containers/{DID}/{name}",
            "fstype": "ext4",
            "readonly": False,
        }
        for target, name in (
            ("/etc/hosts", "hosts"),
            ("/etc/hostname", "hostname"),
            ("/etc/resolv.conf", "resolv.conf"),
        )
    ]


def test_docker_isolation_map(docker_host: FakeHost) -> None:
    iso = cli_json(docker_host, "inspect", "web")["isolation"]
    assert {t: v["shared"] for t, v in iso["namespaces"].items()} == {
        t: t in ("time", "user") for t in HOST_NS
    }
    assert iso["namespaces"]["net"] == {"inode": OWN["net"], "host": HOST_NS["net"], "shared": False}
    assert iso["user"] == {
        "uid_map": [[0, 0, 4294967295]],
        "gid_map": [[0, 0, 4294967295]],
        "root_outside": 0,
        "euid": 0,
    }
    assert (
        len(iso["capabilities"]["effective"]) == 14 and "CAP_SYS_ADMIN" not in iso["capabilities"]["bounding"]
    )
    assert (iso["seccomp"], iso["no_new_privs"]) == ({"mode": "filter", "filters": 1}, False)
    assert iso["lsm"] == {"name": "apparmor", "label": "docker-default (enforce)"}
    assert iso["rootfs_readonly"] is False
    assert iso["masked_paths"] == ["/proc/acpi", "/proc/kcore", "/sys/firmware"]
    assert iso["readonly_paths"] == ["/proc/sys", "/proc/sysrq-trigger", "/sys"]
    assert [n["id"] for n in iso["notes"]] == ["root-is-host-root"]


def test_docker_lifecycle_app_as_pid_1(docker_host: FakeHost) -> None:
    lc = cli_json(docker_host, "inspect", "web")["lifecycle"]
    assert (lc["kind"], lc["program"], lc["reaps"], lc["app_exited"]) == ("app", "nginx", False, False)
    assert lc["init"]["pid"] == 4242 and lc["init"]["nspid"] == 1
    assert (lc["zombies"], lc["outsiders"], lc["warnings"]) == ([], [], [])
    assert lc["cgroup"] == f"/system.slice/docker-{DID}.scope"


def test_docker_inspect_text(docker_host: FakeHost) -> None:
    text = cli(docker_host, "inspect", "4242")
    assert text.startswith(
        f"web (docker container {DID[:12]}), its init is host pid 4242: nginx -g daemon off;\n"
    )
    assert f"{O2}/l/Q3ZKHJ4W5NE6G2XU7LFOPRYTSA -> {O2}/{CACHE}-init/diff" in text
    assert "capabilities    14: CHOWN DAC_OVERRIDE FOWNER" in text
    assert "PID 1 is the app itself (nginx)" in text


def test_docker_diff(docker_host: FakeHost) -> None:
    if os.geteuid() != 0:
        pytest.skip("a whiteout is a character device: mknod needs root")
    upper = docker_host.path(f"{O2}/{CACHE}/diff")
    os.mknod(upper / "etc" / "passwd", stat.S_IFCHR, os.makedev(0, 0))
    os.utime(upper / "etc", ns=(0, 0))
    assert cli(docker_host, "diff", "web").splitlines() == [
        "C /etc",
        "C /etc/nginx/nginx.conf",
        "D /etc/passwd",
        "A /var",
        "A /var/cache",
        "A /var/cache/nginx",
        "A /var/cache/nginx/client_temp",
        "A /var/cache/nginx/client_temp/0001",
    ]
    data = cli_json(docker_host, "diff", DID[:12])
    assert (data["driver"], data["upper"]) == ("overlay", f"{O2}/{CACHE}/diff")
    assert data["changes"][2] == {"kind": "D", "path": "/etc/passwd", "type": "file", "replaced": False}


def test_diff_of_a_container_without_layers_fails_in_one_line(
    docker_host: FakeHost, capsys: pytest.CaptureFixture[str]
) -> None:
    docker_host.add_process(
        5000, "sleep", ("sleep", "1000"), ppid=900, nspid=(5000, 1), ns={"pid": 4026532400, "mnt": 4026532401}
    )
    docker_host.write("/proc/5000/mountinfo", "700 600 8:1 /srv/rootfs / rw,relatime - ext4 /dev/sda1 rw\n")
    assert main(["--root", str(docker_host.root), "diff", "5000"], out=io.StringIO()) == 1
    assert capsys.readouterr().err == (
        "cgscope: pid 5000's root is a ext4 mount, not overlay or aufs: no layers to compare\n"
    )


# -- Podman, rootless: user namespace, userxattr, root mount listed after the binds --------------------

PID_ = "565c206fb79f876ffd5f069b8bd7a97fb5e47d5d07396b0c395a4ed6725d4a8e"
STORE = "/home/alice/.local/share/containers/storage/overlay"
USERDATA = f"/containers/overlay-containers/{PID_}/userdata"
PODMAN_MOUNTINFO = f"""\
685 690 0:63 {USERDATA}/resolv.conf /etc/resolv.conf rw,nosuid,nodev,relatime - tmpfs tmpfs rw,size=1637624k,nr_inodes=409406,mode=700,uid=1000,gid=1000,inode64
686 690 0:63 {USERDATA}/hosts /etc/hosts rw,nosuid,nodev,relatime - tmpfs tmpfs rw,size=1637624k,nr_inodes=409406,mode=700,uid=1000,gid=1000,inode64
689 690 0:63 {USERDATA}/hostname /etc/hostname rw,nosuid,nodev,relatime - tmpfs tmpfs rw,size=1637624k,nr_inodes=409406,mode=700,uid=1000,gid=1000,inode64
690 546 0:55 / / rw,relatime - overlay overlay rw,lowerdir={STORE}/l/NPOHYOD3PI3YW6TQSGBOVOUSK6,upperdir={STORE}/{PID_}/diff,workdir={STORE}/{PID_}/work,redirect_dir=nofollow,uuid=on,volatile,userxattr
691 690 0:59 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
698 692 0:6 /null /dev/null rw,nosuid,noexec,relatime - devtmpfs udev rw,size=8147812k,nr_inodes=2036953,mode=755,inode64
1235 691 0:6 /null /proc/kcore rw,nosuid,noexec,relatime - devtmpfs udev rw,size=8147812k,nr_inodes=2036953,mode=755,inode64
1234 691 0:67 / /proc/acpi ro,relatime - tmpfs tmpfs rw,size=0k,uid=1000,gid=1000,inode64
1256 691 0:59 /sysrq-trigger /proc/sysrq-trigger ro,relatime - proc proc rw
"""  # noqa: E501


def test_podman_rootless(tmp_path: Path) -> None:
    host = fake_host(tmp_path)
    host.add_mountinfo(
        "60 22 0:63 / /run/user/1000 rw,nosuid,nodev,relatime shared:30 - tmpfs tmpfs rw,mode=700"
    )
    host.add_mountinfo("61 22 0:6 / /dev rw,nosuid shared:2 - devtmpfs udev rw,size=8147812k,mode=755")
    host.podman_container(PID_, "db")
    add_container_process(
        host,
        7000,
        ("postgres",),
        cgroup=f"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{PID_}.scope",
        ns={**OWN_UTS, "user": 4026532310},
        mountinfo=PODMAN_MOUNTINFO,
        caps="000001ffffffffff",
        uid_map="         0       1000          1\n         1     100000      65536\n",
    )
    lower = host.path(f"{STORE}/{'b' * 64}/diff")
    write(lower / "data" / "old", "old")
    (host.path(f"{STORE}/l")).mkdir()
    host.path(f"{STORE}/l/NPOHYOD3PI3YW6TQSGBOVOUSK6").symlink_to(f"../{'b' * 64}/diff")
    upper = host.path(f"{STORE}/{PID_}/diff")
    (upper / "data").mkdir(parents=True)
    os.setxattr(upper / "data", "user.overlay.opaque", b"y")  # rm -rf /data && mkdir /data: no root needed
    write(upper / "data" / "new", "new")
    owned = os.geteuid() == 0  # the layers are alice's (uid 1000): root inside, as her user namespace maps it
    if owned:
        for layer in (lower, upper):
            os.chown(layer, 1000, 1000)
    data = cli_json(host, "inspect", "db")
    assert [(x["role"], x["path"], x["resolved"]) for x in data["rootfs"]["layers"]] == [
        ("container", f"{STORE}/{PID_}/diff", None),
        ("image", f"{STORE}/l/NPOHYOD3PI3YW6TQSGBOVOUSK6", f"{STORE}/{'b' * 64}/diff"),
    ]
    assert data["rootfs"]["file_mounts"][0]["source"] == f"/run/user/1000{USERDATA}/hosts"
    iso = data["isolation"]
    assert (iso["user"]["root_outside"], iso["namespaces"]["user"]["shared"]) == (1000, False)
    assert iso["notes"] == []  # every capability, but in its own user namespace, as uid 1000 outside
    assert iso["masked_paths"] == ["/proc/acpi", "/proc/kcore"]
    if not owned:
        pytest.skip("the layers of a rootless container are its user's: chown needs root")
    # docker diff's lines by default; --replaced tells a directory made anew from one that only changed
    assert cli(host, "diff", "db").splitlines() == ["C /data", "A /data/new", "D /data/old"]
    assert cli(host, "diff", "db", "--replaced").splitlines()[0] == "C /data  (replaced)"


# -- containerd (Kubernetes) with SELinux: a context option with unescaped commas in quotes ------------

SNAP = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots"
CTR = "e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6"


def test_containerd_selinux_context_option(tmp_path: Path) -> None:
    host = fake_host(tmp_path)
    pod = "kubepods-besteffort-pod1b2c3d4e_5f60_4718_8293_a4b5c6d7e8f9.slice"
    cgroup = f"/kubepods.slice/kubepods-besteffort.slice/{pod}/cri-containerd-{CTR}.scope"
    mountinfo = (
        "757 605 0:139 / / rw,relatime master:180 - overlay overlay "
        'rw,context="system_u:object_r:data_t:s0:c171,c852",'
        f"lowerdir={SNAP}/25/fs:{SNAP}/24/fs,upperdir={SNAP}/26/fs,workdir={SNAP}/26/work\n"
        "758 757 0:143 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
    )
    add_container_process(
        host, 8000, ("/app",), cgroup=cgroup, ns=OWN_UTS, mountinfo=mountinfo,
        lsm=("attr/current", "system_u:system_r:container_t:s0:c171,c852\0"),
    )  # fmt: skip
    data = cli_json(host, "inspect", CTR[:12])
    assert [(x["role"], x["path"]) for x in data["rootfs"]["layers"]] == [
        ("container", f"{SNAP}/26/fs"),
        ("image", f"{SNAP}/25/fs"),
        ("image", f"{SNAP}/24/fs"),
    ]
    assert data["rootfs"]["layers"][0]["size"] is None  # not on this fixture disk: unknown, not zero
    assert data["isolation"]["lsm"] == {
        "name": "selinux",
        "label": "system_u:system_r:container_t:s0:c171,c852",
    }


# -- Docker's aufs driver: branches from /sys/fs/aufs, .wh. whiteouts ---------------------------------


def test_docker_aufs(tmp_path: Path) -> None:
    host = fake_host(tmp_path)
    host.docker_container(DID, "old", 4300)
    mountinfo = (
        "300 250 0:45 / / rw,relatime - aufs none rw,relatime,si=5a3c7b1b2d4e6f80,dio,dirperm1\n"
        "301 300 0:46 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
    )
    add_container_process(
        host, 4300, ("redis-server",), cgroup=f"/docker/{DID}", ns=OWN_UTS, mountinfo=mountinfo
    )
    aufs = "/var/lib/docker/aufs/diff"
    for n, (branch, perm) in enumerate(((DID, "rw"), (f"{DID}-init", "ro+wh"), (IMAGE, "ro+wh"))):
        host.write(f"/sys/fs/aufs/si_5a3c7b1b2d4e6f80/br{n}", f"{aufs}/{branch}={perm}\n")
    write(host.path(f"{aufs}/{IMAGE}/etc/redis.conf"), "bind 0.0.0.0\n")
    write(host.path(f"{aufs}/{IMAGE}/etc/motd"), "hi\n")
    write(host.path(f"{aufs}/{DID}-init/etc/hosts"), "")
    rw = host.path(f"{aufs}/{DID}")
    write(rw / ".wh..wh.aufs", "")
    (rw / ".wh..wh.plnk").mkdir()
    write(rw / "etc" / ".wh.motd", "")
    write(rw / "data" / "dump.rdb", "REDIS0009")
    data = cli_json(host, "inspect", "old")
    assert [(x["role"], x["path"]) for x in data["rootfs"]["layers"]] == [
        ("container", f"{aufs}/{DID}"),
        ("init", f"{aufs}/{DID}-init"),
        ("image", f"{aufs}/{IMAGE}"),
    ]
    assert data["rootfs"]["driver"] == "aufs"
    assert cli(host, "diff", "old").splitlines() == ["A /data", "A /data/dump.rdb", "C /etc", "D /etc/motd"]


def test_inspect_and_diff_do_not_load_the_ui() -> None:
    from helpers import loaded_ui_modules

    for argv in (["inspect", "1", "--json"], ["inspect", "1", "--no-sizes"], ["diff", "1", "--json"]):
        assert loaded_ui_modules(argv) == [], argv
