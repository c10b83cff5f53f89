"""The live fixtures create what they claim: checked against /proc and the cgroup files directly."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from . import containers
from .containers import BareContainer, RuncContainer

NEW_NS = {"ipc", "mnt", "net", "pid", "uts"}  # both kinds of container unshare these...
SHARED_NS = {"cgroup", "time", "user"}  # ...and keep the host's of these


def status_field(pid: int, key: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(key)


def comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def proc_cgroups(pid: int | str) -> dict[str, str]:
    """/proc/PID/cgroup as controller field -> path ("" is cgroup2)."""
    out: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, key, path = line.split(":", 2)
        out[key] = path
    return out


def cgroup_mountpoints() -> set[Path]:
    points: set[Path] = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        pre, post = line.split(" - ")
        if post.split()[0] in ("cgroup", "cgroup2"):
            points.add(Path(pre.split()[4]))
    return points


def procs(directory: Path) -> set[int]:
    return {int(p) for p in (directory / "cgroup.procs").read_text().split()}


def ns_pid_members(init_pid: int) -> set[int]:
    target = os.readlink(f"/proc/{init_pid}/ns/pid")
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "ns" / "pid") == target:
                    found.add(int(entry.name))
            except OSError:
                pass
    return found


def gone(pid: int) -> bool:
    try:
        return status_field(pid, "State").startswith("Z")
    except FileNotFoundError:
        return True


def check_members(init_pid: int, member_pids: frozenset[int], nspids: dict[int, int]) -> None:
    assert status_field(init_pid, "NSpid").split() == [str(init_pid), "1"]
    assert ns_pid_members(init_pid) == set(member_pids) == set(nspids)
    assert len(member_pids) == 3
    for pid in member_pids:
        assert status_field(pid, "NSpid").split() == [str(pid), str(nspids[pid])]
    assert comm(init_pid) == "sh"
    assert sorted(comm(p) for p in member_pids - {init_pid}) == ["sleep", "sleep"]


def check_namespaces(c: BareContainer | RuncContainer) -> None:
    assert c.host_namespaces == {ns: os.stat(f"/proc/self/ns/{ns}").st_ino for ns in containers.NS_TYPES}
    for pid in c.member_pids:
        assert c.namespaces == {ns: os.stat(f"/proc/{pid}/ns/{ns}").st_ino for ns in containers.NS_TYPES}
    assert {ns for ns in containers.NS_TYPES if c.namespaces[ns] != c.host_namespaces[ns]} == NEW_NS
    assert all(c.namespaces[ns] == c.host_namespaces[ns] for ns in SHARED_NS)


def check_cgroups(c: BareContainer | RuncContainer, dirs: dict[str, Path], extra: set[int]) -> None:
    """Every member sits in ``cgroup_path`` in every hierarchy the kernel lists, and each such cgroup
    holds exactly the members (plus ``extra``)."""
    hierarchies = proc_cgroups("self").keys()
    assert dirs.keys() == hierarchies
    for pid in c.member_pids:
        assert proc_cgroups(pid) == dict.fromkeys(hierarchies, c.cgroup_path)
    for d in dirs.values():
        assert d.parent in cgroup_mountpoints()
        assert d.name == c.cgroup_path.lstrip("/")
        assert procs(d) == set(c.member_pids) | extra


# --- bare container -------------------------------------------------------------------------------


def test_bare_container_processes(bare_container: BareContainer) -> None:
    c = bare_container
    check_members(c.init_pid, c.member_pids, c.nspids)
    assert int(status_field(c.init_pid, "PPid")) == c.unshare_pid
    assert comm(c.unshare_pid) == "unshare"
    assert status_field(c.unshare_pid, "NSpid") == str(c.unshare_pid)  # host pid namespace
    assert c.name.startswith("cgscope-test-") and c.cgroup_path == "/" + c.name


def test_bare_container_namespaces(bare_container: BareContainer) -> None:
    check_namespaces(bare_container)


def test_bare_container_cgroups(bare_container: BareContainer) -> None:
    c = bare_container
    check_cgroups(c, c.cgroup.dirs, {c.unshare_pid})
    cpuset = c.cgroup.dirs.get("cpuset")
    if cpuset is not None:
        for f in ("cpuset.cpus", "cpuset.mems"):
            assert (cpuset / f).read_text() == (cpuset.parent / f).read_text() != "\n"


@pytest.mark.usefixtures("needs_unshare")
def test_bare_container_teardown() -> None:
    with containers.bare_container() as c:
        dirs, pids = list(c.cgroup.dirs.values()), c.member_pids | {c.unshare_pid}
        assert all(d.is_dir() for d in dirs)
    assert not any(d.exists() for d in dirs)
    assert all(gone(p) for p in pids)


@pytest.mark.usefixtures("needs_unshare")
def test_temp_cgroup() -> None:
    with containers.temp_cgroup() as cg:
        assert cg.dirs.keys() == proc_cgroups("self").keys()
        assert all(procs(d) == set() for d in cg.dirs.values())
    assert not any(d.exists() for d in cg.dirs.values())


# --- runc container -------------------------------------------------------------------------------


def test_runc_container_processes(runc_container: RuncContainer) -> None:
    c = runc_container
    check_members(c.init_pid, c.member_pids, c.nspids)
    state = json.loads(subprocess.run(["runc", "state", c.id], check=True, capture_output=True).stdout)
    assert (state["status"], state["pid"], state["bundle"]) == ("running", c.init_pid, str(c.bundle))
    saved = json.loads(c.state_file.read_text())
    assert saved["init_process_pid"] == c.init_pid
    assert saved["config"]["cgroups"]["path"] == c.cgroup_path == "/" + c.id


def test_runc_container_namespaces(runc_container: RuncContainer) -> None:
    check_namespaces(runc_container)


def test_runc_container_cgroups(runc_container: RuncContainer) -> None:
    c = runc_container
    saved: dict[str, str] = json.loads(c.state_file.read_text())["cgroup_paths"]
    # runc names hierarchies like /proc/PID/cgroup does ("" = cgroup2, "name=systemd").
    check_cgroups(c, {k: Path(v) for k, v in saved.items()}, set())


@pytest.mark.usefixtures("needs_runc")
def test_runc_container_teardown() -> None:
    with containers.runc_container() as c:
        dirs = list(containers.runc_cgroup_dirs(c.state_file).values())
        assert all(d.is_dir() for d in dirs)
    assert not c.state_file.parent.exists()
    assert not c.bundle.exists()
    assert not any(d.exists() for d in dirs)
    assert all(gone(p) for p in c.member_pids)
