"""A cgroup v2 threaded cgroup (cgroup-v2.rst, "Threads") on this kernel: the kernel refuses reads of its
cgroup.procs (EOPNOTSUPP), and every command that walks cgroups reads its cgroup.threads instead."""

from __future__ import annotations

import errno
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import run as cli
from helpers import tree_node

from .conftest import require_root_and
from .containers import _rmdir_cgroup, cgroup_hierarchies, kill_and_reap, unique_name, wait_until


@dataclass(frozen=True)
class Threaded:
    domain: Path  # /<name>: the threaded domain, whose cgroup.procs lists the process
    worker: Path  # /<name>/worker: threaded, holding the process's (only) thread
    pid: int

    @property
    def path(self) -> str:
        return "/" + self.domain.name


@pytest.fixture
def threaded() -> Iterator[Threaded]:
    """`sleep` in /cgscope-test-<hex>, its thread moved into the threaded child /cgscope-test-<hex>/worker."""
    require_root_and("sleep")
    unified = next((h.mountpoint for h in cgroup_hierarchies() if h.version == 2), None)
    if unified is None:
        pytest.skip("no cgroup2 hierarchy mounted")
    domain = unified / unique_name()
    worker = domain / "worker"
    proc = None
    try:
        worker.mkdir(parents=True)
        try:
            (worker / "cgroup.type").write_text("threaded")
        except OSError as exc:  # a kernel before 4.14 has no threaded mode
            pytest.skip(f"threaded cgroups unavailable here: {exc}")
        proc = subprocess.Popen(["sleep", "1000"])
        (domain / "cgroup.procs").write_text(str(proc.pid))
        (worker / "cgroup.threads").write_text(str(proc.pid))
        wait_until(
            lambda: (worker / "cgroup.threads").read_text().split() == [str(proc.pid)], what="thread moved"
        )
        yield Threaded(domain, worker, proc.pid)
    finally:
        if proc is not None:
            kill_and_reap(proc)
        for d in (worker, domain):
            if d.is_dir():
                _rmdir_cgroup(d, 5.0)


def test_the_kernel_refuses_cgroup_procs_there(threaded: Threaded) -> None:
    with pytest.raises(OSError) as info:
        (threaded.worker / "cgroup.procs").read_text()
    assert info.value.errno == errno.EOPNOTSUPP
    assert (threaded.domain / "cgroup.procs").read_text().split() == [str(threaded.pid)]


def test_tree_shows_the_threaded_cgroup(threaded: Threaded) -> None:
    data = json.loads(cli("tree", "-H", "unified", "--json"))
    [hierarchy] = data["hierarchies"]
    domain = tree_node(hierarchy["tree"], threaded.path)
    worker = tree_node(hierarchy["tree"], threaded.path + "/worker")
    assert (domain["procs"], domain["total_procs"], domain["threaded"], domain["threads"]) == (
        1,
        1,
        False,
        None,
    )
    assert (worker["procs"], worker["total_procs"], worker["threaded"], worker["threads"]) == (0, 0, True, 1)
    text = cli("tree", "-H", "unified")
    assert f"{threaded.domain.name}  1/1" in text
    assert "worker  threaded, 1 thread" in text


def test_commands_that_walk_cgroups(threaded: Threaded) -> None:
    containers = json.loads(cli("containers", "--json"))
    assert threaded.pid in containers["host"]["pids"]  # a plain process in a cgroup of the host's
    [process] = json.loads(cli("ps", str(threaded.pid), "--json"))["processes"]
    assert process["cgroups"]["unified"] == threaded.path + "/worker"  # where its thread is
    assert cli("procview", str(threaded.pid), "meminfo").startswith("MemTotal:")
    assert json.loads(cli("top", "--json", "-d", "0.1"))["host"]["cpu"]["limit_cpus"] > 0
