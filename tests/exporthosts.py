"""Fixture hosts for `cgscope export` (v2, hybrid, v1) and a reader of what it serves.

The v2 and hybrid hosts are tests/hosts/counters.py's (a Docker container "web" with every counter of
its cgroup version), the v2 one with a Kubernetes pod beside it (containerd's CRI: an app container
and the pod's sandbox); the v1 host is a systemd "legacy" host with the same container.
"""

from __future__ import annotations

import io
from pathlib import Path

from fakehost import FakeHost
from helpers import files
from hosts.counters import V1_CG, V2_CG, hybrid_host, v2_host, with_container, with_host_files
from prometheus_client.parser import text_string_to_metric_families

from cgscope.cli import main
from cgscope.fs.files import decode

MIB = 1 << 20
POD_UID = "5e3c2a1b-0f9d-4c8b-a7e6-d5c4b3a29180"
APP_ID = "a9" * 32
SANDBOX_ID = "5b" * 32
POD_CG = f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{POD_UID.replace('-', '_')}.slice"
APP_CG = f"{POD_CG}/cri-containerd-{APP_ID}.scope"
SANDBOX_CG = f"{POD_CG}/cri-containerd-{SANDBOX_ID}.scope"
Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def v2_counters(directory: Path, *, usage_usec: int, memory: int, weight: int = 100) -> None:
    """The files every v2 cgroup has once systemd enables cpu, memory and pids for it."""
    files(
        directory,
        cpu__stat=f"usage_usec {usage_usec}\nuser_usec {usage_usec // 2}\nsystem_usec {usage_usec // 2}\n"
        "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n",
        cpu__max="max 100000\n",
        cpu__weight=f"{weight}\n",
        memory__current=f"{memory}\n",
        memory__max="max\n",
        memory__stat=f"anon {memory}\nfile 0\nfile_mapped 0\ninactive_file 0\n",
        memory__events="low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
        pids__current="1\n",
        pids__max="max\n",
    )


def export_v2_host(tmp_path: Path) -> FakeHost:
    h = v2_host(tmp_path)
    pod_ns = {"net": 4026532502, "ipc": 4026532503}  # the sandbox's, joined by its containers
    h.add_process(6000, "pause", ["/pause"], cgroup=SANDBOX_CG, nspid=[6000, 1],
                  ns={"pid": 4026532501, **pod_ns}, start_ticks=950_000)  # fmt: skip
    h.add_process(6010, "app", ["/app", "--serve"], cgroup=APP_CG, nspid=[6010, 1],
                  ns={"pid": 4026532511, **pod_ns}, start_ticks=960_000)  # fmt: skip
    for cid, container in ((SANDBOX_ID, None), (APP_ID, "app")):
        h.containerd_bundle(
            cid, namespace="shop", pod="web-0", pod_uid=POD_UID, sandbox_id=SANDBOX_ID, container=container
        )
    for cgroup, usage, memory, weight in ((SANDBOX_CG, 20_000, MIB, 1), (APP_CG, 3_500_000, 30 * MIB, 39)):
        directory = h.cgroup_dir("unified", cgroup)
        assert directory is not None
        v2_counters(directory, usage_usec=usage, memory=memory, weight=weight)
    return h


def export_hybrid_host(tmp_path: Path) -> FakeHost:
    """test_cgstats' hybrid host with what v1 has and its fixture leaves out: cpuacct.stat, the
    container's own memory.limit_in_bytes and memory.failcnt, cpu.shares."""
    h = hybrid_host(tmp_path)
    for key, contents in (
        ("cpuacct", {"cpuacct__stat": "user 3500\nsystem 1100\n"}),
        ("memory", {"memory__limit_in_bytes": f"{256 * MIB}\n", "memory__failcnt": "7\n"}),
        ("cpu", {"cpu__shares": "512\n"}),
    ):
        directory = h.cgroup_dir(key, V1_CG)
        assert directory is not None
        files(directory, **contents)
    return h


def export_v1_host(tmp_path: Path) -> FakeHost:
    """A systemd "legacy" host (name=systemd, cpu,cpuacct, memory, pids) with the Docker container at
    /docker/<id>: no cgroup2, so no PSI and no memory.events."""
    h = with_container(with_host_files(FakeHost(tmp_path, "v1")), V1_CG)

    def at(key: str, cgroup: str = V1_CG) -> Path:
        d = h.cgroup_dir(key, cgroup)
        assert d is not None
        return d

    files(
        at("cpu,cpuacct"),
        cpuacct__usage="12000000000\n",
        cpuacct__stat="user 900\nsystem 300\n",
        cpu__cfs_quota_us="-1\n",
        cpu__cfs_period_us="100000\n",
        cpu__shares="1024\n",
        cpu__stat="nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
    )
    files(
        at("memory"),
        memory__usage_in_bytes=f"{64 * MIB}\n",
        memory__limit_in_bytes="9223372036854771712\n",
        memory__failcnt="0\n",
        memory__stat=f"total_rss {48 * MIB}\ntotal_cache {16 * MIB}\ntotal_mapped_file {4 * MIB}\n"
        f"total_inactive_file {8 * MIB}\nhierarchical_memory_limit 9223372036854771712\n",
        memory__oom_control="oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
    )
    files(at("pids"), pids__current="2\n", pids__max="100\n")
    return h


ODD_CG = "/system.slice/box-odd"  # renamed on disk to box\xff\xfe: not UTF-8


def export_odd_name_host(tmp_path: Path) -> FakeHost:
    """The v2 host with a bare container in a cgroup whose name is not UTF-8 (bytes \\xff \\xfe): any user
    with a delegated subtree can make one. Its name (the cgroup's) is not UTF-8 either."""
    h = export_v2_host(tmp_path)
    h.add_process(7000, "sh", ["sh"], cgroup=ODD_CG, nspid=[7000, 1], ns={"pid": 4026532601})
    directory = h.cgroup_dir("unified", ODD_CG)
    assert directory is not None
    v2_counters(directory, usage_usec=250_000, memory=2 * MIB)
    directory.rename(directory.with_name("box" + decode(b"\xff\xfe")))
    cgroup = h.path("/proc/7000/cgroup")
    cgroup.write_bytes(cgroup.read_bytes().replace(b"box-odd", b"box\xff\xfe"))
    return h


HOSTS = {"v2": export_v2_host, "hybrid": export_hybrid_host, "v1": export_v1_host}


def scrape(h: FakeHost) -> str:
    """`cgscope --root DIR export --once`: one scrape in the text format."""
    out = io.StringIO()
    assert main(["--root", str(h.root), "export", "--once"], out=out) == 0
    return out.getvalue()


def series(text: str) -> Series:
    """Every sample, parsed by prometheus_client's own parser: (name, labels) -> value."""
    out: Series = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in out, f"duplicate series {key}"
            out[key] = s.value
    return out


def of(data: Series, metric: str, /, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    """The samples of `metric` whose labels include `labels`."""
    want = set(labels.items())
    return {k: v for (n, k), v in data.items() if n == metric and want <= k}


def value(data: Series, metric: str, /, **labels: str) -> float:
    [found] = of(data, metric, **labels).values()
    return found


__all__ = ["HOSTS", "ODD_CG", "V1_CG", "V2_CG", "export_odd_name_host", "of", "scrape", "series", "value"]
