"""A Kubernetes-like node: pods of containerd CRI containers (a pause container and one or two app
containers each, systemd cgroup driver), Docker containers, bare `unshare` containers and host services,
with the usage counters of every container cgroup, on cgroup v2, v1 or a hybrid host.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fakehost import FakeHost, Mode
from helpers import files, private

from .counters import with_host_files
from .systemd import init_and_kernel_threads

KUBEPODS = "/kubepods.slice/kubepods-burstable.slice"
MIB = 1 << 20


def container_id(kind: str, n: int) -> str:
    return hashlib.sha256(f"{kind}-{n}".encode()).hexdigest()


def _counters(h: FakeHost, cgroup: str) -> None:
    """The counters a refresh reads of a container cgroup, in each hierarchy that holds them."""
    for hierarchy in h.hierarchies:
        d = h.cgroup_dir(hierarchy.key, cgroup)
        assert d is not None
        controllers = hierarchy.key.split(",")
        if hierarchy.version == 2:
            files(d, cpu__stat="usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\n",
                  cpu__max="50000 100000\n", memory__current=f"{64 * MIB}\n", memory__max=f"{256 * MIB}\n",
                  memory__stat="anon 33554432\nfile 33554432\ninactive_file 16777216\n",
                  memory__events="low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n", pids__current="2\n",
                  pids__max="100\n", io__stat="8:0 rbytes=4096 wbytes=0 rios=1 wios=0\n")  # fmt: skip
        if "cpu" in controllers:
            files(d, cpu__cfs_quota_us="50000\n", cpu__cfs_period_us="100000\n",
                  cpu__stat="nr_periods 3\nnr_throttled 0\nthrottled_time 0\n")  # fmt: skip
        if "cpuacct" in controllers:
            files(d, cpuacct__usage="5000000000\n")
        if "memory" in controllers:
            files(d, memory__usage_in_bytes=f"{64 * MIB}\n",
                  memory__stat=f"cache 33554432\nrss 33554432\nhierarchical_memory_limit {256 * MIB}\n",
                  memory__oom_control="oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")  # fmt: skip
        if "pids" in controllers:
            files(d, pids__current="2\n", pids__max="100\n")
        if "cpuset" in controllers:
            files(d, cpuset__cpus="0-3\n", cpuset__effective_cpus="0-3\n")


def _pod(h: FakeHost, n: int, apps: int, pid: int) -> int:
    """Pod `n`: its pause container and `apps` app containers, processes from `pid` on; the next free pid."""
    uid = hashlib.md5(f"pod-{n}".encode()).hexdigest()
    uid = f"{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:]}"
    pod_slice = f"{KUBEPODS}/kubepods-burstable-pod{uid.replace('-', '_')}.slice"
    sandbox = container_id("pause", n)
    ns = private(100 + n)
    for i, cid in enumerate([sandbox, *(container_id(f"app{a}", n) for a in range(apps))]):
        cgroup = f"{pod_slice}/cri-containerd-{cid}.scope"
        h.add_process(pid, "containerd-shim", ["/usr/bin/containerd-shim-runc-v2", "-id", cid],
                      cgroup="/system.slice/containerd.service")  # fmt: skip
        comm = "pause" if i == 0 else "app"
        own = ns if i == 0 else {**ns, "mnt": ns["mnt"] + 2000 + i}  # an app has a mount namespace of its own
        h.add_process(pid + 1, comm, [comm], ppid=pid, cgroup=cgroup, nspid=(pid + 1, 1), ns=own,
                      start_ticks=5000 + pid)  # fmt: skip
        if i:
            h.add_process(pid + 2, "worker", ["worker"], ppid=pid + 1, cgroup=cgroup, nspid=(pid + 2, 2),
                          ns=own, start_ticks=5001 + pid)  # fmt: skip
        h.containerd_bundle(cid, namespace="default", pod=f"pod-{n}", pod_uid=uid, sandbox_id=sandbox,
                            container=None if i == 0 else f"app{i}")  # fmt: skip
        _counters(h, cgroup)
        pid += 3
    return pid


def node_host(tmp_path: Path, mode: Mode, containers: int = 200, host_processes: int = 200) -> FakeHost:
    """About `containers` containers: pods of two or three containers, ten Docker containers, five bare
    ones; `host_processes` host services besides."""
    h = with_host_files(FakeHost(tmp_path, mode))
    init_and_kernel_threads(h)
    h.add_process(300, "containerd", ["/usr/bin/containerd"], cgroup="/system.slice/containerd.service")
    h.add_process(301, "dockerd", ["/usr/bin/dockerd", "-H", "fd://"], cgroup="/system.slice/docker.service")
    h.add_process(302, "kubelet", ["/usr/bin/kubelet"], cgroup="/system.slice/kubelet.service")
    pid, made, n = 10_000, 0, 0
    while made < containers - 15:
        apps = 1 + n % 2
        pid = _pod(h, n, apps, pid)
        made, n = made + 1 + apps, n + 1
    for d in range(10):
        cid = container_id("docker", d)
        cgroup = f"/system.slice/docker-{cid}.scope"
        h.add_process(pid, "nginx", ["nginx"], cgroup=cgroup, nspid=(pid, 1), ns=private(900 + d),
                      start_ticks=7000 + d)  # fmt: skip
        h.docker_container(cid, f"web{d}", pid)
        _counters(h, cgroup)
        pid += 1
    for b in range(5):  # `unshare --pid --fork --mount-proc sleep` from a service of its own
        service = f"/system.slice/job{b}.service"
        inside = {"pid": 4026540000 + 2 * b, "mnt": 4026540001 + 2 * b}
        h.add_process(pid, "unshare", ["unshare", "-fp", "sleep"], cgroup=service, ns={"mnt": inside["mnt"]})
        h.add_process(pid + 1, "sleep", ["sleep", "1d"], ppid=pid, cgroup=service, nspid=(pid + 1, 1),
                      ns=inside)  # fmt: skip
        _counters(h, service)
        pid += 2
    for s in range(host_processes):
        h.add_process(400 + s, f"svc{s}", [f"/usr/sbin/svc{s}"], cgroup=f"/system.slice/svc{s % 40}.service")
    return h
