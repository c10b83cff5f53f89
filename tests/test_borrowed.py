"""On cgroup v1 a container joins each hierarchy on its own: a bare container put in a memory and cpu
cgroup of its own but left in the root blkio, cpuacct and pids cgroups would show the host's IO. Each
figure is read from its cgroup only where that cgroup is the container's own; the others are its
processes' (or unknown), and the figures say which."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exporthosts import of, scrape, series, value
from fakehost import FakeHost
from helpers import cli, cli_json, files
from hosts.counters import MIB, hybrid_host
from hosts.members import set_times, write_io

from cgscope.fs.files import counting_opens
from cgscope.fs.hostroot import HostRoot
from cgscope.model.borrowed import MEASURED
from cgscope.model.derive import derive
from cgscope.model.member_usage import MEMBERS_DEVICE, MemberUsage
from cgscope.model.usage import Overview, Sample, Watched
from cgscope.tui.screens.container_detail import usage_lines

BOX = "/box"
INSIDE = {"pid": 4026532511, "mnt": 4026532510}
HOST_IO = "8:0 Read 900000000\n8:0 Write 700000000\nTotal 1600000000\n"  # the root's: the whole host's


def box_host(tmp_path: Path, *, own_unified: bool) -> FakeHost:
    """The hybrid host of hosts/counters.py with a bare container (`unshare -p -f sh`, sh, its worker)
    in /box of memory and cpu (and of cgroup2, with `own_unified`), the root of every other hierarchy;
    busy root blkio, cpuacct and memory counters, as a host doing IO of its own shows them."""
    h = hybrid_host(tmp_path)
    paths = {"memory": BOX, "cpu": BOX, **({"unified": BOX} if own_unified else {})}
    h.add_process(700, "unshare", ["unshare", "-p", "-f", "sh"], cgroup=paths, ns={"mnt": INSIDE["mnt"]})
    h.add_process(701, "sh", ["sh"], ppid=700, cgroup=paths, nspid=[701, 1], ns=INSIDE)
    h.add_process(702, "worker", ["worker"], ppid=701, cgroup=paths, nspid=[702, 2], ns=INSIDE)
    for pid, (read, written) in {700: (0, 0), 701: (4096, 0), 702: (8192, 1 << 20)}.items():
        write_io(h, pid, read_bytes=read, write_bytes=written)
        set_times(h, pid, 10, 5)

    def at(key: str, cgroup: str) -> Path:
        d = h.cgroup_dir(key, cgroup)
        assert d is not None
        return d

    files(at("blkio", "/"), blkio__throttle__io_service_bytes_recursive=HOST_IO,
          blkio__throttle__io_serviced_recursive=HOST_IO.replace("00000000", ""))  # fmt: skip
    files(at("cpuacct", "/"), cpuacct__usage="987000000000000\n")
    files(at("cpu", BOX), cpu__cfs_quota_us="-1\n", cpu__cfs_period_us="100000\n",
          cpu__stat="nr_periods 0\nnr_throttled 0\nthrottled_time 0\n")  # fmt: skip
    files(at("cpuset", "/"), cpuset__cpus="0-3\n", cpuset__effective_cpus="0-3\n")
    files(at("memory", BOX), memory__usage_in_bytes=f"{30 * MIB}\n",
          memory__stat=f"total_rss {20 * MIB}\ntotal_cache {10 * MIB}\ntotal_inactive_file {4 * MIB}\n"
          f"hierarchical_memory_limit {64 * MIB}\n", memory__oom_control="oom_kill 0\n")  # fmt: skip
    if own_unified:
        files(at("unified", BOX), cpu__stat="usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\n")
    return h


def box(sample: Any) -> tuple[Watched, Sample]:
    [w] = [w for w in sample.watched if w.container.init_pid == 701]
    return w, sample.containers[w.container.id]


def box_json(h: FakeHost) -> dict[str, Any]:
    rows = cli_json(h, "top", "-d", "0.1")["containers"]
    [row] = [r for r in rows if r["init_pid"] == 701]
    return dict(row)


def test_its_io_is_its_processes_not_the_root_blkio_cgroups(tmp_path: Path) -> None:
    root = HostRoot.at(box_host(tmp_path, own_unified=True).root)
    overview, members = Overview(root), MemberUsage(root)
    w, s = box(members.apply(overview.sample()))
    assert not w.shared  # its cgroup2 cgroup (the primary hierarchy's) is its own
    assert w.borrowed == {"io", "tasks"}  # root blkio; root pids
    assert s.io is not None and set(s.io) == {MEMBERS_DEVICE}
    assert (s.io[MEMBERS_DEVICE].read_bytes, s.io[MEMBERS_DEVICE].write_bytes) == (12288, 1 << 20)
    assert s.cpu is not None and s.cpu.usage_ns == 2_000_000_000  # its own cgroup2 cpu.stat
    assert s.memory is not None and s.memory.usage == 30 * MIB  # its own memory cgroup
    assert s.pids is not None and s.pids.current == 3  # its threads: the root pids cgroup counts none
    assert s.from_processes == {"io", "tasks"}
    usage = derive(s, s, 1.0)
    assert usage.source == "cgroup" and usage.source_of("io") == "processes"
    assert usage.source_of("memory") == "cgroup"
    assert "source  tasks, io its processes'" in usage_lines(usage)  # the dashboard's detail says so


def test_only_the_borrowed_figures_are_read_from_its_processes(tmp_path: Path) -> None:
    """Its memory is its memory cgroup's: its members' smaps_rollup and statm are not read, their stat
    (tasks) and io are."""
    root = HostRoot.at(box_host(tmp_path, own_unified=True).root)
    overview, members = Overview(root), MemberUsage(root)
    sample = overview.sample()
    with counting_opens() as opens:
        members.apply(sample)
    read = {Path(p).relative_to(root.proc) for p in opens.files}
    assert read == {Path(str(pid), name) for pid in (700, 701, 702) for name in ("stat", "io")}


def test_top_json_says_which_figures_are_its_processes(tmp_path: Path) -> None:
    h = box_host(tmp_path, own_unified=True)
    row = box_json(h)
    assert (row["source"], row["shared_cgroup"]) == ("cgroup", False)
    assert row["sources"] == {"cpu": "cgroup", "memory": "cgroup", "tasks": "processes", "io": "processes"}
    assert row["io"]["write_bytes_per_s"] == 0  # the members wrote nothing meanwhile: not the host's
    assert row["io"]["read_ops_per_s"] is None  # /proc/PID/io counts no operations
    assert row["memory"]["usage_bytes"] == 30 * MIB
    web = next(r for r in cli_json(h, "top", "-d", "0.1")["containers"] if r["name"] == "web")
    assert set(web["sources"].values()) == {"cgroup"}  # Docker's cgroups are its own in every hierarchy
    assert "box*" in cli(h, "top", "-d", "0.1")  # marked: some of its figures are its processes'
    [listed] = [c for c in cli_json(h, "containers")["containers"] if c["init_pid"] == 701]
    assert (listed["source"], listed["sources"]) == ("cgroup", row["sources"])


def test_its_io_is_unknown_where_its_processes_do_not_tell_it(tmp_path: Path) -> None:
    """A kernel without CONFIG_TASK_IO_ACCOUNTING offers no /proc/PID/io: the IO is unknown, never the
    root blkio cgroup's."""
    h = box_host(tmp_path, own_unified=True)
    for pid in (700, 701, 702):
        h.path(f"/proc/{pid}/io").unlink()
    root = HostRoot.at(h.root)
    _, s = box(MemberUsage(root).apply(Overview(root).sample()))
    assert s.io is None
    assert s.memory is not None and s.memory.usage == 30 * MIB
    assert box_json(h)["io"] is None


def test_in_the_root_cgroup2_cgroup_its_memory_is_still_its_memory_cgroups(tmp_path: Path) -> None:
    """Left in the root cgroup2 and cpuacct cgroups (the primary hierarchy's is shared): its CPU is its
    processes' (cpuacct's root counts the host), its memory its own memory cgroup's."""
    root = HostRoot.at(box_host(tmp_path, own_unified=False).root)
    w, s = box(MemberUsage(root).apply(Overview(root).sample()))
    assert w.shared and w.borrowed == {"cpu", "io", "tasks", "pressure"}
    assert s.cpu is not None and s.cpu.usage_ns < 1_000_000_000  # 45 ticks, not the host's 987000 s
    assert s.memory is not None and s.memory.usage == 30 * MIB
    assert s.io is not None and s.io[MEMBERS_DEVICE].read_bytes == 12288
    assert s.pressure == {}
    assert s.from_processes == MEASURED - {"memory"}


def test_export_leaves_out_the_series_of_the_hierarchies_it_does_not_own(tmp_path: Path) -> None:
    """Its cgroup2, cpu and memory cgroups are its own, its pids cgroup the root's: no container_threads
    (the host's tasks), its CPU and memory as its cgroups count them, and the info series says why."""
    h = box_host(tmp_path, own_unified=True)
    root_pids = h.cgroup_dir("pids", "/")
    assert root_pids is not None
    files(root_pids, pids__current="900\n")  # the host's tasks
    data = series(scrape(h))
    assert value(data, "container_cpu_usage_seconds_total", id=BOX) == 2.0
    assert value(data, "container_memory_usage_bytes", id=BOX) == 30 * MIB
    assert not of(data, "container_threads", id=BOX)
    [info] = of(data, "cgscope_container_info", id=BOX)
    assert dict(info)["borrowed"] == "tasks,io" and dict(info)["shared_cgroup"] == "false"


def test_usage_from_cgroup2_keeps_the_v1_cpu_cgroups_throttling(tmp_path: Path) -> None:
    """Its cpuacct cgroup is the root's, so its usage is its cgroup2 cpu.stat's, which has no throttling
    on a hybrid host: that is its own v1 cpu cgroup's cpu.stat, where its quota is."""
    h = box_host(tmp_path, own_unified=True)
    cpu = h.cgroup_dir("cpu", BOX)
    assert cpu is not None
    files(cpu, cpu__stat="nr_periods 50\nnr_throttled 40\nthrottled_time 2000000000\n")
    _, s = box(Overview(HostRoot.at(h.root)).sample())
    assert s.cpu is not None and (s.cpu.usage_ns, s.cpu.periods, s.cpu.throttled_periods) == (
        2 * 10**9,
        50,
        40,
    )
    data = series(scrape(h))
    assert value(data, "container_cpu_cfs_throttled_periods_total", id=BOX) == 40
    assert value(data, "container_cpu_cfs_throttled_seconds_total", id=BOX) == 2.0
