"""cgscope finds real containers on this kernel: a bare unshare container and a runc container."""

from __future__ import annotations

from typing import Any

from helpers import run_json

from .containers import DEFAULT_SCRIPT, BareContainer, RuncContainer, bare_container, unique_name


def find(containers: list[dict[str, Any]], init_pid: int) -> dict[str, Any]:
    found = [c for c in containers if c["init_pid"] == init_pid]
    assert len(found) == 1, f"exactly one container with init {init_pid}: {containers}"
    return found[0]


def test_bare_unshare_container(bare_container: BareContainer) -> None:
    bc = bare_container
    data = run_json("containers")
    c = find(data["containers"], bc.init_pid)
    assert c["runtime"] == "bare"
    assert c["name"] == bc.name  # its own cgroup's name (it never set a hostname of its own)
    # The `unshare --fork` parent shares the container's mount namespace: it belongs with it.
    assert set(c["pids"]) == set(bc.member_pids) | {bc.unshare_pid}
    assert {int(pid): nspid for pid, nspid in c["nspids"].items() if int(pid) in bc.nspids} == bc.nspids
    assert c["namespaces"] == bc.namespaces
    assert sorted(c["shared_with_host"]) == ["cgroup", "time", "user"]
    assert c["cgroup"]["unified"] == bc.cgroup_path
    assert c["cgroup"]["memory"] == bc.cgroup_path
    assert not set(c["pids"]) & set(data["host"]["pids"])
    # host's namespaces: those of this test process, which runs in them
    assert data["host"]["namespaces"] == bc.host_namespaces
    assert data["host"]["cgroup_mode"] == "hybrid" or data["host"]["cgroup_mode"] in ("v1", "v2")


def test_ps_by_member_pid_shows_inner_pids(bare_container: BareContainer) -> None:
    bc = bare_container
    member = max(bc.member_pids)
    procs = run_json("ps", str(member))["processes"]
    by_pid = {p["pid"]: p for p in procs}
    for pid, nspid in bc.nspids.items():
        assert by_pid[pid]["nspid"] == nspid
        assert by_pid[pid]["container"]["id"] == f"pid-{bc.namespaces['pid']}"
    assert by_pid[bc.init_pid]["nspid"] == 1


def test_runc_container(runc_container: RuncContainer) -> None:
    rc = runc_container
    c = find(run_json("containers")["containers"], rc.init_pid)
    assert (c["runtime"], c["id"], c["name"]) == ("runc", rc.id, rc.id)
    assert set(c["pids"]) == set(rc.member_pids)
    assert {int(pid): nspid for pid, nspid in c["nspids"].items()} == rc.nspids
    assert c["namespaces"] == rc.namespaces
    assert set(c["shared_with_host"]) == {"cgroup", "time", "user"}
    assert set(c["cgroup"].values()) == {rc.cgroup_path}
    # by name and by id prefix, too
    assert {p["pid"] for p in run_json("ps", rc.id)["processes"]} == set(rc.member_pids)
    assert {p["pid"] for p in run_json("ps", rc.id[:-2])["processes"]} == set(rc.member_pids)


def test_a_bare_container_is_named_by_its_uts_hostname(needs_unshare: None) -> None:
    """A hostname set inside the container's own UTS namespace names it (uname's nodename, read by joining
    the namespace: no file holds it); its cgroup's name and its hostname both resolve to it."""
    hostname = unique_name()
    with bare_container(f"hostname {hostname} && {DEFAULT_SCRIPT}") as bc:
        c = find(run_json("containers")["containers"], bc.init_pid)
        assert c["name"] == hostname
        for ref in (hostname, bc.name):  # the hostname, and the leaf name of its own cgroup
            assert {p["pid"] for p in run_json("ps", ref)["processes"]} == set(c["pids"])
