"""On a pure cgroup v2 kernel: the mode, the hierarchy, and real containers found with their cgroups."""

from __future__ import annotations

import shutil

import pytest
from helpers import run_json
from live.containers import RUNC_BUSYBOX, bare_container, is_static_elf, runc_container


def test_mode_and_hierarchy() -> None:
    host = run_json("containers")["host"]
    assert host["cgroup_mode"] == "v2"
    [unified] = host["hierarchies"]
    assert (unified["name"], unified["version"], unified["mountpoint"]) == ("unified", 2, "/sys/fs/cgroup")
    assert {"cpu", "memory", "pids", "io", "cpuset"} <= set(unified["controllers"])


def test_bare_container_in_its_own_v2_cgroup() -> None:
    with bare_container() as bc:
        [c] = [c for c in run_json("containers")["containers"] if c["init_pid"] == bc.init_pid]
        assert c["runtime"] == "bare"
        assert c["cgroup"] == {"unified": bc.cgroup_path}
        assert set(c["pids"]) == set(bc.member_pids) | {bc.unshare_pid}
        assert {int(k): v for k, v in c["nspids"].items() if int(k) in bc.nspids} == bc.nspids
        tree = run_json("tree")["hierarchies"][0]["tree"]
        [node] = [n for n in tree["children"] if n["path"] == bc.cgroup_path]
        assert node["procs"] == len(bc.member_pids) + 1  # the members and the unshare parent


def test_runc_container_on_v2() -> None:
    if shutil.which("runc") is None or not is_static_elf(RUNC_BUSYBOX):
        pytest.skip("needs runc and busybox-static")
    with runc_container() as rc:
        [c] = [c for c in run_json("containers")["containers"] if c["init_pid"] == rc.init_pid]
        assert (c["runtime"], c["id"]) == ("runc", rc.id)
        assert c["cgroup"] == {"unified": rc.cgroup_path}
        assert set(c["pids"]) == set(rc.member_pids)
