"""Processes appear and vanish while cgscope scans: no exception, and no half-filled process."""

import os
import signal
import subprocess

import pytest

from cgscope.fs.hostroot import HostRoot
from cgscope.fs.procfs import NS_TYPES
from cgscope.model.collect import Collector
from cgscope.model.containers import group_containers
from cgscope.model.namespaces import list_namespaces

pytestmark = pytest.mark.live
SCANS = 8  # whole scans while the churn runs: each must hold only whole processes

CHURN = [
    # short-lived plain processes, as fast as the shell can fork
    "while :; do /bin/true; done",
    # short-lived processes in namespaces of their own
    "while :; do unshare --pid --fork --mount-proc --uts --ipc /bin/true; done",
    # processes that live a moment, so scans catch them mid-exit
    "while :; do sleep 0.01 & sleep 0.01 & wait; done",
]


def test_snapshots_survive_churn() -> None:
    if os.geteuid() != 0:
        pytest.skip("unshare needs root")
    spawners = [subprocess.Popen(["sh", "-c", cmd], start_new_session=True) for cmd in CHURN]
    try:
        host = HostRoot.live()
        collector = Collector(host)
        for _ in range(SCANS):
            snapshot = collector.snapshot()
            group_containers(host, collector, snapshot.processes)
            list_namespaces(snapshot)
            assert {s.pid for s in spawners} <= set(snapshot.processes)  # the churners, alive throughout
            for p in snapshot.processes.values():
                assert set(p.namespaces) == set(NS_TYPES), p
                assert p.start_ticks > 0 and p.comm, p
                if not p.kernel_thread and p.state != "Z":
                    assert p.cgroups, f"process {p.pid} has no cgroup: {p}"
    finally:
        for s in spawners:
            os.killpg(s.pid, signal.SIGKILL)  # each spawner leads its own session: only ours die
            s.wait()
