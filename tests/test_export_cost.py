"""What one scrape of `cgscope export` reads on a node of 200 containers (hosts/node.py), counted through
fs/files.py, the one place that opens kernel files, lists directories and reads links: each at most
once, only files whose figures it serves, and nothing per process once the containers are known."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hosts.node import node_host

from cgscope.export.server import Exporter
from cgscope.export.source import Source
from cgscope.fs.files import Opens, counting_opens
from cgscope.fs.hostroot import HostRoot

# The files of a container's cgroups the series come from (docs/export.md lists which series each
# feeds), by name, on v1 and v2: counters on every scrape, the slow ones (PSI, memory events,
# cgroup.procs) and the settings when they are due.
COUNTERS = {
    "cpu.stat", "cpuacct.usage", "cpuacct.stat",
    "memory.current", "memory.usage_in_bytes", "memory.stat", "memory.swap.current", "pids.current",
}  # fmt: skip
SLOW = {
    "memory.events", "memory.oom_control", "memory.failcnt", "cgroup.procs",
    "cpu.pressure", "memory.pressure", "io.pressure",
}  # fmt: skip
SETTINGS = {
    "cpu.max", "cpu.weight", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares",
    "memory.max", "memory.limit_in_bytes", "pids.max",
    "cpuset.cpus.effective", "cpuset.effective_cpus", "cpuset.cpus",
}  # fmt: skip
# The host's: CPU, memory, tasks (loadavg), OOM kills (vmstat), PSI; pid_max and threads-max now and then.
HOST = {"stat", "meminfo", "loadavg", "vmstat", "pressure/cpu", "pressure/memory", "pressure/io"}

Scrapes = tuple[Path, Opens, Opens]


@pytest.fixture(scope="module", params=["v1", "v2", "hybrid"])
def scrapes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Scrapes:
    """A node of the mode and the opens of a second scrape: one whose settings and slow figures are kept
    (read at the first), and one of an exporter that reads them again on every scrape. The second reads
    every container's counters: only once they read as before is a container idle, and left unread
    until the slow figures are due (tests/test_export_idle.py)."""
    h = node_host(tmp_path_factory.mktemp("node"), request.param)
    counted = []
    for seconds in (3600.0, 0.0):
        exporter = Exporter(Source(HostRoot.at(h.root), seconds, seconds), interval=0.0)
        exporter.body(openmetrics=True)
        with counting_opens() as opens:
            body = exporter.body(openmetrics=True)
        assert body.count(b"\ncgscope_container_info{") == 200
        counted.append(opens)
    return h.root, counted[0], counted[1]


def _opened(root: Path, opens: Opens) -> tuple[set[str], set[str]]:
    """The names of the cgroup files opened, and the host's /proc files (relative to /proc)."""
    cgroup_files, proc_files = set(), set()
    for path in opens.files:
        rel = Path(os.path.relpath(path, root))
        if rel.parts[0] == "proc":
            proc_files.add(str(rel.relative_to("proc")))
        else:
            assert rel.parts[:3] == ("sys", "fs", "cgroup"), path
            cgroup_files.add(rel.name)
    return cgroup_files, proc_files


@pytest.mark.parametrize("settings_due", [False, True])
def test_a_scrape_reads_each_kernel_file_at_most_once(scrapes: Scrapes, settings_due: bool) -> None:
    opens = scrapes[2] if settings_due else scrapes[1]
    twice = [p for counted in (opens.files, opens.dirs, opens.links) for p, n in counted.items() if n > 1]
    assert twice == []


def test_a_scrape_reads_only_files_of_the_series_it_serves(scrapes: Scrapes) -> None:
    """No blkio or io.stat, no diskstats (no io series), no swap limits; the settings and the slow
    figures only when due."""
    root, kept, due = scrapes
    cgroup_files, proc_files = _opened(root, kept)
    assert cgroup_files <= COUNTERS
    assert proc_files <= HOST
    cgroup_files, proc_files = _opened(root, due)
    assert cgroup_files <= COUNTERS | SLOW | SETTINGS
    assert cgroup_files & SETTINGS and cgroup_files & SLOW
    assert proc_files <= HOST


def test_a_steady_scrape_opens_a_few_files_a_container(scrapes: Scrapes) -> None:
    """Between the slow readings a container costs its CPU, memory and tasks files only, six at most
    (v1: cpuacct.usage and .stat, cpu.stat, memory.usage_in_bytes and .stat, pids.current; v2: cpu.stat,
    memory.current, .stat and .swap.current, pids.current), and no directory is listed."""
    root, kept, _ = scrapes
    cgroup_files = [p for p in kept.files if Path(os.path.relpath(p, root)).parts[0] == "sys"]
    assert len(cgroup_files) <= 6 * 200
    assert kept.dirs.total() == 0


def test_a_scrape_costs_per_cgroup_not_per_process(scrapes: Scrapes) -> None:
    """Known containers cost no file of their processes, and no link; each cgroup directory of the
    primary hierarchy is listed once, by the walk that tells whether containers came or went."""
    root, kept, _ = scrapes
    assert kept.links.total() == 0
    assert not [p for p in kept.files if Path(os.path.relpath(p, root)).parts[1].isdigit()]
    assert all(Path(os.path.relpath(d, root)).parts[:3] == ("sys", "fs", "cgroup") for d in kept.dirs)
