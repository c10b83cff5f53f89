"""sampling/grouping.KeptGrouping: the containers view groups again only when the pid listing, the
primary hierarchy's cgroups or a container cgroup's members changed, or once the grouping is
`regroup_seconds` old; each change shows in the next refresh, a steady refresh reads no init again. Host
processes that come and go leave the grouping standing, its host pids updated."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

from fakehost import FakeHost
from helpers import hexid, private
from hosts.counters import CID, V2_CG, v2_host

from cgscope.export.source import Source
from cgscope.fs.files import counting_opens
from cgscope.fs.hostroot import HostRoot
from cgscope.model.containers import Inventory
from cgscope.sampling import Sampler

INSIDE = {"pid": 4026539000, "mnt": 4026539001}


def _sampler(h: FakeHost, seconds: float) -> Sampler:
    return Sampler(HostRoot.at(h.root), regroup_seconds=seconds)


def _grouped(s: Sampler) -> Inventory:
    return s.sample(frozenset()).inventory


def test_a_steady_host_keeps_its_grouping_and_reads_no_process_again(tmp_path: Path) -> None:
    h = v2_host(tmp_path)
    s = _sampler(h, 3600.0)
    first = _grouped(s)
    with counting_opens() as opens:
        assert _grouped(s) is first
    per_process = [p for p in opens.files if re.search(r"/proc/[0-9]+/", p)]
    assert per_process == []  # not even the init's /proc/PID/cgroup


def test_a_new_process_is_grouped_at_once(tmp_path: Path) -> None:
    h = v2_host(tmp_path)
    s = _sampler(h, 3600.0)
    _grouped(s)
    h.add_process(5000, "sh", ["sh"], nspid=[5000, 1], ns=INSIDE)  # `unshare -p -f sh`
    assert any(c.init_pid == 5000 and c.runtime == "bare" for c in _grouped(s).containers)


def test_a_member_moved_out_of_its_containers_cgroup_is_seen_at_once(tmp_path: Path) -> None:
    h = v2_host(tmp_path)
    h.add_process(4300, "sh", ["sh"], ppid=1, cgroup=V2_CG)  # `docker exec`-like, in the host's namespaces
    s = _sampler(h, 3600.0)
    [web] = [c for c in _grouped(s).containers if c.id == CID]
    assert 4300 in web.pids
    top, root = h.cgroup_dir("unified", V2_CG), h.cgroup_dir("unified", "/")
    assert top is not None and root is not None
    (top / "cgroup.procs").write_text("4242\n")  # echo 4300 > /sys/fs/cgroup/cgroup.procs
    with (root / "cgroup.procs").open("a") as f:
        f.write("4300\n")
    h.path("/proc/4300/cgroup").write_text("0::/\n")
    inventory = _grouped(s)
    assert 4300 in inventory.host_pids and 4300 not in inventory.container_of


def test_what_no_signal_shows_shows_once_the_grouping_is_that_old(tmp_path: Path) -> None:
    """A container renamed in its runtime's state changes no listing and no cgroup."""
    h = v2_host(tmp_path)
    s = _sampler(h, 0.3)
    assert [c.name for c in _grouped(s).containers if c.id == CID] == ["web"]
    h.docker_container(CID, "api", 4242)
    assert [c.name for c in _grouped(s).containers if c.id == CID] == ["web"]
    time.sleep(0.35)
    assert [c.name for c in _grouped(s).containers if c.id == CID] == ["api"]


def test_with_no_age_every_refresh_groups_again(tmp_path: Path) -> None:
    h = v2_host(tmp_path)
    s = _sampler(h, 0.0)
    first = _grouped(s)
    h.docker_container(CID, "api", 4242)
    again = _grouped(s)
    assert again is not first and [c.name for c in again.containers if c.id == CID] == ["api"]


def test_the_exporter_finds_a_bare_container_started_in_a_cgroup_that_was_there(tmp_path: Path) -> None:
    """No cgroup is made for `unshare -p -f sh` in a login session: only the pid listing shows it (the
    exporter grouped again only when the tree of cgroups changed; `top` did the same, tests/live)."""
    h = v2_host(tmp_path)
    source = Source(HostRoot.at(h.root), slow_seconds=0.0)
    assert not any(i.init_pid == 5000 for i in source.read().containers)
    h.add_process(5000, "sh", ["sh"], nspid=[5000, 1], ns=INSIDE)
    assert any(i.init_pid == 5000 and i.runtime == "bare" for i in source.read().containers)


def test_host_processes_that_come_and_go_leave_the_grouping_standing(tmp_path: Path) -> None:
    h = v2_host(tmp_path)
    s = _sampler(h, 3600.0)
    first = _grouped(s)
    h.add_process(5100, "sh", ["sh"])  # a login shell: the host's namespaces and cgroups
    with counting_opens() as opens:
        again = _grouped(s)
    assert again.containers is first.containers and 5100 in again.host_pids
    assert {m[1] for p in opens.files if (m := re.search(r"/proc/([0-9]+)/", p))} == {"5100"}
    shutil.rmtree(h.path("/proc/5100"))
    after = _grouped(s)
    assert after.containers is first.containers and 5100 not in after.host_pids
    assert set(after.host_pids) == set(first.host_pids)


def test_a_host_process_that_joins_a_cgroup_an_oci_state_claims_is_its_member_at_once(tmp_path: Path) -> None:
    """Plain runc in a cgroup of the user's choosing: no runtime names that cgroup, its state does."""
    h = FakeHost(tmp_path, "v2")
    h.add_process(1, "init", ["/sbin/init"], ppid=0, cgroup="/init.scope")
    h.add_process(
        400, "sleep", ["sleep"], cgroup="/jobs/batch", nspid=(400, 1), ns=private(1), start_ticks=7000
    )
    h.runc_state("batch", 400, 7000, "/jobs/batch")
    s = _sampler(h, 3600.0)
    [batch] = _grouped(s).containers
    assert batch.pids == (400,)
    h.add_process(410, "sh", ["sh"], cgroup="/jobs/batch")  # `cgexec -g pids:/jobs/batch sh`
    [batch] = _grouped(s).containers
    assert batch.pids == (400, 410)


def test_a_runtime_daemon_that_starts_is_heard_at_once(tmp_path: Path) -> None:
    """dockerd's command line says where its containers' names are."""
    h = FakeHost(tmp_path, "v2")
    h.add_process(1, "init", ["/sbin/init"], ppid=0, cgroup="/init.scope")
    web = hexid("web")
    h.add_process(
        400, "nginx", ["nginx"], cgroup=f"/custom/{web}", nspid=(400, 1), ns=private(1), start_ticks=5000
    )
    h.runc_state(web, 400, 5000, f"/custom/{web}", root="/srv/run/runtime-runc/moby")
    h.write(f"/srv/docker/containers/{web}/config.v2.json", json.dumps({"ID": web, "Name": "/web"}))
    s = _sampler(h, 3600.0)
    assert [c.name for c in _grouped(s).containers] != ["web"]
    h.add_process(300, "dockerd", ["/usr/bin/dockerd", "--data-root", "/srv/docker", "--exec-root=/srv/run"])
    assert [c.name for c in _grouped(s).containers] == ["web"]
