"""What one refresh of the dashboard costs on a node of 200 containers (hosts/node.py), counted through
fs/files.py, the one place that opens kernel files, lists directories and reads links: each at most once
a refresh, and nothing per process once the processes are known."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakehost import FakeHost, Mode
from hosts.node import node_host

from cgscope.fs.files import Opens, counting_opens
from cgscope.fs.hostroot import HostRoot
from cgscope.sampling import Sampler

Steady = tuple[FakeHost, Opens]


@pytest.fixture(scope="module", params=["v1", "v2", "hybrid"])
def steady(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Steady:
    """A node of the mode and the opens of the third refresh of the containers view (the first reads
    everything, the second reads once more what is read of a process first seen): built once a mode,
    read only."""
    h = node_host(tmp_path_factory.mktemp("node"), request.param)
    sampler = Sampler(HostRoot.at(h.root))
    for _ in range(2):
        sampler.sample(frozenset())
    with counting_opens() as opens:
        frame = sampler.sample(frozenset())
    assert len(frame.inventory.containers) == 200
    assert len(frame.container_usage) == 200
    return h, opens


def test_a_refresh_reads_each_kernel_file_at_most_once(steady: Steady) -> None:
    _, opens = steady
    twice = [p for counted in (opens.files, opens.dirs, opens.links) for p, n in counted.items() if n > 1]
    assert twice == []


def test_a_refresh_costs_per_cgroup_not_per_process(steady: Steady) -> None:
    """Known processes cost nothing: no namespace link, no file of theirs but each container init's
    /proc/PID/cgroup (a move of the container shows at once), and the usage files of the processes of
    the 5 bare containers, whose cgroups hold their `unshare` too (model/member_usage.py)."""
    h, opens = steady
    per_process = [Path(p).relative_to(h.proc) for p in opens.files if Path(p).is_relative_to(h.proc)]
    per_process = [p for p in per_process if p.parts[0].isdigit()]
    assert opens.links.total() == 0
    inits = [p for p in per_process if p.name == "cgroup"]
    members = [p for p in per_process if p.name != "cgroup"]
    assert len(inits) == 200
    assert {p.name for p in members} == {"stat", "smaps_rollup", "statm", "io"}  # no smaps_rollup: statm
    assert len({p.parts[0] for p in members}) == 5


@pytest.mark.parametrize("mode", ["v1", "hybrid"])
def test_the_containers_listing_reads_members_only_as_far_as_it_prints_them(
    mode: Mode, tmp_path: Path
) -> None:
    """`cgscope containers` reads a member's stat, status and pid namespace link, no more (not even its
    comm, which tells a runtime daemon, outside containers): the same containers as a full read."""
    from cgscope.model.collect import Collector
    from cgscope.model.containers import group_containers
    from cgscope.render.views import container_json

    h = node_host(tmp_path, mode)
    host = HostRoot.at(h.root)
    full = group_containers(host, Collector(host))
    with counting_opens() as opens:
        placed = group_containers(host, Collector(host), placed_only=True)
    assert [container_json(c, placed) for c in placed.containers] == [
        container_json(c, full) for c in full.containers
    ]
    members = {pid for c in placed.containers for pid in c.pids} - {c.init_pid for c in placed.containers}
    read: dict[int, set[str]] = {}
    for path in [Path(p) for p in [*opens.files, *opens.links] if Path(p).is_relative_to(h.proc)]:
        pid, *name = path.relative_to(h.proc).parts
        if pid.isdigit() and int(pid) in members and name:  # (no name: /proc/PID opened, O_PATH)
            read.setdefault(int(pid), set()).add("/".join(name))
    assert len(read) == len(members) > 100
    assert set().union(*read.values()) == {"stat", "status", "ns/pid"}
