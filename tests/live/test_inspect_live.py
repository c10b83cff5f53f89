"""`cgscope diff` and `cgscope inspect` on a mini container built here: a busybox-static image layer and an
init layer under an overlay mount with upper and work directories, and a process chroot()ed into it in
namespaces of its own (overlay_container.py)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from helpers import run, run_json

from .conftest import require_root_and
from .containers import RUNC_BUSYBOX, is_static_elf, proc_status, wait_until
from .nobody import run_as_nobody
from .overlay_container import FILE_MOUNTS, MASKED, READ_ONLY, OverlayContainer, overlay_container


@pytest.fixture(autouse=True)
def needs_overlay() -> None:
    require_root_and("unshare", "nsenter", "chroot", "mount", "umount")
    if not (RUNC_BUSYBOX.is_file() and is_static_elf(RUNC_BUSYBOX)):
        pytest.skip(f"needs a statically linked {RUNC_BUSYBOX} (Debian package busybox-static)")
    if "overlay" not in Path("/proc/filesystems").read_text().split():
        pytest.skip("needs overlayfs")


def changes(oc: OverlayContainer) -> list[tuple[str, str, bool]]:
    data = run_json("diff", str(oc.init_pid))
    assert (data["driver"], data["upper"]) == ("overlay", str(oc.upper))
    return [(c["kind"], c["path"], c["replaced"]) for c in data["changes"]]


def test_adding_changing_and_deleting_show_exactly_a_c_d() -> None:
    with overlay_container() as oc:
        assert changes(oc) == []
        oc.exec("echo new > /data/added && echo 'version 2' >> /data/changed && rm /data/deleted")
        # what overlayfs wrote in the container layer: a copy-up, a new file, a whiteout (0/0)
        st = os.lstat(oc.upper / "data" / "deleted")
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
        assert changes(oc) == [
            ("C", "/data", False),
            ("A", "/data/added", False),
            ("C", "/data/changed", False),
            ("D", "/data/deleted", False),
        ]
        assert run("diff", str(oc.init_pid)).splitlines() == [
            "C /data",
            "A /data/added",
            "C /data/changed",
            "D /data/deleted",
        ]


def test_deleting_and_recreating_a_directory_shows_it_replaced() -> None:
    with overlay_container() as oc:
        oc.exec("rm -rf /olddir && mkdir /olddir && echo again > /olddir/a && echo new > /olddir/new")
        assert os.getxattr(oc.upper / "olddir", "trusted.overlay.opaque") == b"y"  # overlayfs made it opaque
        assert changes(oc) == [
            ("C", "/olddir", True),
            ("C", "/olddir/a", False),  # a file of that name was there before
            ("D", "/olddir/b", False),  # hidden for good under the new directory
            ("A", "/olddir/new", False),
        ]
        assert "C /olddir" in run("diff", str(oc.init_pid)).splitlines()  # as docker diff prints it
        assert "C /olddir  (replaced)" in run("diff", str(oc.init_pid), "--replaced").splitlines()


def test_inspect_lists_the_layers_in_order() -> None:
    with overlay_container() as oc:
        data = run_json("inspect", str(oc.init_pid))
        assert data["container"]["runtime"] == "bare" and data["pid"] == oc.init_pid
        rootfs = data["rootfs"]
        assert (rootfs["driver"], rootfs["root_link"], rootfs["workdir"]) == (
            "overlay",
            str(oc.merged),
            str(oc.work),
        )
        assert [(x["role"], x["path"], x["resolved"]) for x in rootfs["layers"]] == [
            ("container", str(oc.upper), None),
            ("init", str(oc.links[0]), str(oc.init_layer)),
            ("image", str(oc.links[1]), str(oc.image)),
        ]
        image = rootfs["layers"][2]
        files = [p for p in oc.image.rglob("*") if not p.is_dir() or p.is_symlink()]
        assert (image["size"], image["files"]) == (sum(p.lstat().st_size for p in files), len(files))
        assert [(f["target"], f["source"]) for f in rootfs["file_mounts"]] == [
            (f"/etc/{name}", str(oc.files[f"/etc/{name}"])) for name in FILE_MOUNTS
        ]
        iso = data["isolation"]
        assert (iso["masked_paths"], iso["readonly_paths"], iso["rootfs_readonly"]) == (
            [MASKED],
            [READ_ONLY],
            False,
        )
        text = run("inspect", str(oc.init_pid))
        order = [text.index(str(oc.upper)), text.index(str(oc.init_layer)), text.index(str(oc.image))]
        assert order == sorted(order)


def test_isolation_map_tells_a_shared_network_from_an_own_one() -> None:
    with overlay_container(own_net=True) as own, overlay_container(own_net=False) as shared:
        host_net = os.readlink("/proc/self/ns/net")
        assert os.readlink(f"/proc/{own.init_pid}/ns/net") != host_net
        assert os.readlink(f"/proc/{shared.init_pid}/ns/net") == host_net
        own_iso = run_json("inspect", str(own.init_pid))["isolation"]
        shared_iso = run_json("inspect", str(shared.init_pid))["isolation"]
        assert own_iso["namespaces"]["net"]["shared"] is False
        assert shared_iso["namespaces"]["net"]["shared"] is True
        for iso in (own_iso, shared_iso):
            assert {t for t, v in iso["namespaces"].items() if not v["shared"]} >= {
                "ipc",
                "mnt",
                "pid",
                "uts",
            }
            assert iso["namespaces"]["user"]["shared"] is True and iso["user"]["root_outside"] == 0
        assert "host-network" in {n["id"] for n in shared_iso["notes"]}
        assert "host-network" not in {n["id"] for n in own_iso["notes"]}
        assert "net     shared with host" in run("inspect", str(shared.init_pid))


def test_sh_as_pid_1_with_an_exited_child_left_a_zombie_is_flagged() -> None:
    # sh blocks in `read`, so it never waits for the sleep it started
    with overlay_container("sleep 0.1 & read x", own_cgroup=True) as oc:

        def zombie() -> int | None:
            for pid in map(int, Path(f"/proc/{oc.init_pid}/task/{oc.init_pid}/children").read_text().split()):
                if proc_status(pid)["State"].startswith("Z"):
                    return pid
            return None

        z = wait_until(zombie, 5.0, "the child to exit")
        lc = run_json("inspect", str(oc.init_pid))["lifecycle"]
        assert (lc["kind"], lc["program"], lc["script"], lc["reaps"]) == ("shell", "sh", True, None)
        assert [(p["pid"], p["ppid"], p["state"]) for p in lc["zombies"]] == [(z, oc.init_pid, "Z")]
        assert lc["unreaped"] == [z] and lc["app_exited"] is True
        assert [w["id"] for w in lc["warnings"]] == ["zombies-unreaped", "app-exited", "outsiders"]
        # the unshare(1) parent sits in the container's cgroup, in the host's pid namespace
        assert lc["cgroup"] == oc.cgroup.path if oc.cgroup else False
        assert [(o["pid"], o["namespaces"]) for o in lc["outsiders"]] == [(oc.unshare_pid, ["pid"])]
        assert "! zombies-unreaped: 1 zombie(s) under PID 1 (sh)" in run("inspect", str(oc.init_pid))


def test_unprivileged_inspect_shows_unknowns_and_diff_fails_in_one_line() -> None:
    with overlay_container() as oc:
        inspect = run_as_nobody("inspect", str(oc.init_pid), "--json")
        assert inspect.returncode == 0 and "Traceback" not in inspect.stderr, inspect.stderr
        data = json.loads(inspect.stdout)
        # another user's namespaces are unreadable: no container to see, no inode to compare
        assert data["container"] is None and data["lifecycle"] is None
        assert {v["shared"] for v in data["isolation"]["namespaces"].values()} == {None}
        assert [x["size"] for x in data["rootfs"]["layers"]] == [None, None, None]  # 0700 directories
        diff = run_as_nobody("diff", str(oc.init_pid))
        assert diff.returncode == 1 and diff.stderr == f"cgscope: {oc.upper}: permission denied\n"
