"""The LXCFS-style files from hand-built inputs: the host's own files (as a 4-CPU Linux 6.1 machine writes
them) and a cgroup's counters, rendered exactly."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from helpers import loaded_ui_modules
from hosts.counters import CPUINFO, DISKSTATS, MEMINFO, STAT, SWAPS, UPTIME, cpuinfo_block

from cgscope.commands.top import VIEW_FILES
from cgscope.fs.cgroup_cpu import CpuCounters
from cgscope.fs.cgroup_io import IoDevice
from cgscope.fs.cgroup_memory import MemoryCounters, MemoryStat
from cgscope.fs.status import Task
from cgscope.fs.system import HostTexts
from cgscope.model import procview
from cgscope.model.usage import Sample, ViewInputs

KIB, MIB = 1024, 1 << 20
HZ = 100


ELAPSED_PER_CPU = 880_000  # every cpuN line's fields add up to this (guest fields are 0)
HOST = HostTexts(MEMINFO, CPUINFO, STAT, UPTIME, SWAPS, DISKSTATS, (0, 1, 2, 3))
STAT_V2 = MemoryStat(
    anon=60 * MIB, file=40 * MIB, shmem=4 * MIB, mapped=8 * MIB, dirty=1 * MIB, writeback=0,
    active_anon=10 * MIB, inactive_anon=50 * MIB, active_file=15 * MIB, inactive_file=25 * MIB,
    unevictable=0, anon_thp=2 * MIB, slab_reclaimable=3 * MIB, slab_unreclaimable=1 * MIB,
    kernel_stack=512 * KIB, pagetables=256 * KIB,
)  # fmt: skip


def inputs(
    *,
    memory: MemoryCounters | None = None,
    cpus: tuple[int, ...] = (0, 1, 2, 3),
    quota: float | None = None,
    cpu: CpuCounters | None = None,
    percpu: dict[int, tuple[int, int]] | None = None,
    io: dict[tuple[int, int], IoDevice] | None = None,
    tasks: tuple[Task, ...] = (),
    swappiness: int | None = None,
    init_ticks: int = 900_000,
) -> ViewInputs:
    sample = Sample(1.0, cpu, cpus, quota, memory, None, io)
    return ViewInputs(HOST, sample, percpu, swappiness, init_ticks, tasks, HZ)


def lines(text: str) -> dict[str, str]:
    return {line.partition(":")[0]: line for line in text.splitlines()}


# -- meminfo -------------------------------------------------------------------------------------------


def test_meminfo_of_a_limited_cgroup() -> None:
    mem = MemoryCounters(100 * MIB, STAT_V2, 256 * MIB, 0, None, 0)
    got = procview.meminfo(inputs(memory=mem))
    assert len(got.splitlines()) == len(MEMINFO.splitlines())  # the host's lines, in its order
    m = lines(got)
    assert m["MemTotal"] == "MemTotal:         262144 kB"
    assert m["MemFree"] == "MemFree:          159744 kB"  # 256 MiB - 100 MiB
    assert m["MemAvailable"] == "MemAvailable:     200704 kB"  # free + active and inactive file
    assert m["Buffers"] == "Buffers:               0 kB"
    assert m["Cached"] == "Cached:            40960 kB"
    assert m["Active"] == "Active:            25600 kB"
    assert m["Inactive"] == "Inactive:          76800 kB"
    assert m["Inactive(anon)"] == "Inactive(anon):    51200 kB"
    assert m["AnonPages"] == "AnonPages:         61440 kB"
    assert m["Shmem"] == "Shmem:              4096 kB"
    assert m["Slab"] == "Slab:               4096 kB"
    assert m["SUnreclaim"] == "SUnreclaim:         1024 kB"
    assert m["KernelStack"] == "KernelStack:         512 kB"
    assert m["AnonHugePages"] == "AnonHugePages:      2048 kB"
    assert m["SwapTotal"] == "SwapTotal:       8388604 kB"  # swap accounted, no swap limit: the host's
    assert m["SwapFree"] == "SwapFree:        8388604 kB"
    # what no cgroup counts stays the host's
    assert m["VmallocTotal"] == "VmallocTotal:   34359738367 kB"
    assert m["HugePages_Total"] == "HugePages_Total:       0"
    for line in got.splitlines():  # fs/proc/meminfo.c show_val_kb: 16-column label, 8-column value
        assert re.fullmatch(r"[\w()]+:\s+\d+( kB)?", line) and (
            not line.endswith(" kB") or line.index(" kB") >= 24
        )


def test_meminfo_on_v1_keeps_the_hosts_kreclaimable_as_lxcfs_does() -> None:
    """v1 memory.stat has no slab counters: LXCFS writes 0 slab and leaves KReclaimable the host's."""
    v1_stat = replace(
        STAT_V2, slab_reclaimable=None, slab_unreclaimable=None, kernel_stack=None, pagetables=None
    )
    m = lines(procview.meminfo(inputs(memory=MemoryCounters(100 * MIB, v1_stat, 256 * MIB, 0, None, 0))))
    assert m["KReclaimable"] == "KReclaimable:     220516 kB"  # the host's line, unchanged
    assert (m["Slab"], m["SReclaimable"]) == ("Slab:                  0 kB", "SReclaimable:          0 kB")
    assert m["KernelStack"] == "KernelStack:       12048 kB"


def test_meminfo_without_a_limit_shows_the_hosts_ram() -> None:
    m = lines(procview.meminfo(inputs(memory=MemoryCounters(100 * MIB, STAT_V2, None, None, None, None))))
    assert m["MemTotal"] == "MemTotal:        8039412 kB"
    assert m["MemFree"] == f"MemFree:        {8039412 - 102400:>8} kB"
    assert (m["SwapTotal"], m["SwapFree"]) == ("SwapTotal:             0 kB", "SwapFree:              0 kB")


def test_meminfo_limit_above_the_hosts_ram_is_the_hosts_ram() -> None:
    m = lines(procview.meminfo(inputs(memory=MemoryCounters(MIB, STAT_V2, 64 << 30, None, None, None))))
    assert m["MemTotal"] == "MemTotal:        8039412 kB"


def test_meminfo_usage_above_the_limit_leaves_nothing_free() -> None:
    # v1 usage_in_bytes is approximate (per-CPU charge batches) and may read above the limit
    m = lines(procview.meminfo(inputs(memory=MemoryCounters(300 * MIB, MemoryStat(), 256 * MIB, 0, 0, 0))))
    assert (m["MemFree"], m["MemAvailable"]) == ("MemFree:               0 kB", "MemAvailable:          0 kB")


def test_swap_limit_and_swappiness_zero() -> None:
    mem = MemoryCounters(100 * MIB, STAT_V2, 256 * MIB, 10 * MIB, 64 * MIB, 0)
    m = lines(procview.meminfo(inputs(memory=mem)))
    assert (m["SwapTotal"], m["SwapFree"]) == ("SwapTotal:         65536 kB", "SwapFree:          55296 kB")
    assert procview.swaps(inputs(memory=mem)) == (
        "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
        "none                                    virtual\t\t65536\t\t10240\t\t0\n"
    )
    # v1 memory.swappiness 0: LXCFS pretends the cgroup cannot swap beyond what it has swapped
    m0 = lines(procview.meminfo(inputs(memory=mem, swappiness=0)))
    assert (m0["SwapTotal"], m0["SwapFree"]) == ("SwapTotal:         10240 kB", "SwapFree:              0 kB")


def test_no_swap_accounting_shows_no_swap_device() -> None:
    mem = MemoryCounters(100 * MIB, STAT_V2, 256 * MIB, None, None, 0)
    assert procview.swaps(inputs(memory=mem)) == "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"


def test_no_memory_controller_leaves_the_hosts_files() -> None:
    v = inputs()
    assert procview.meminfo(v) == MEMINFO
    assert procview.swaps(v) == SWAPS
    assert procview.diskstats(v) == DISKSTATS


# -- CPUs ----------------------------------------------------------------------------------------------


def processors(text: str) -> list[tuple[int, int]]:
    """(processor, apicid) of each block: apicid tells which host CPU a block came from."""
    nums = [int(x) for x in re.findall(r"^processor\t: (\d+)$", text, re.M)]
    apic = [int(x) // 2 for x in re.findall(r"^apicid\t\t: (\d+)$", text, re.M)]
    return list(zip(nums, apic, strict=True))


def test_cpuinfo_lists_the_cpuset_renumbered() -> None:
    text = procview.cpuinfo(inputs(cpus=(1, 3)))
    assert processors(text) == [(0, 1), (1, 3)]
    assert text == cpuinfo_block(1).replace("processor\t: 1", "processor\t: 0") + cpuinfo_block(3).replace(
        "processor\t: 3", "processor\t: 1"
    )
    assert procview.online(inputs(cpus=(1, 3))) == "0-1\n"


def test_cpuinfo_with_a_quota_shows_at_most_its_ceiling() -> None:
    assert processors(procview.cpuinfo(inputs(quota=0.2))) == [(0, 0)]  # 20000/100000: one CPU
    assert processors(procview.cpuinfo(inputs(quota=1.5, cpus=(1, 2, 3)))) == [(0, 1), (1, 2)]
    assert processors(procview.cpuinfo(inputs(quota=8.0, cpus=(2, 3)))) == [(0, 2), (1, 3)]
    assert procview.online(inputs(quota=0.2)) == "0\n"


def test_cpuinfo_unlimited_lists_every_cpu() -> None:
    assert procview.cpuinfo(inputs()) == CPUINFO
    assert procview.online(inputs()) == "0-3\n"


def test_an_offline_cpu_in_the_cpuset_is_not_shown() -> None:
    v = replace(inputs(cpus=(0, 1)), host=replace(HOST, online=(0, 2, 3)))
    assert processors(procview.cpuinfo(v)) == [(0, 0)]


def stat_cpus(text: str) -> list[list[int]]:
    return [[int(f) for f in line.split()[1:]] for line in text.splitlines() if line.startswith("cpu")]


def test_stat_v1_keeps_each_cpus_own_time() -> None:
    # cpuacct.usage_all: 30 s user + 10 s system on cpu1, 5 s + 1 s on cpu3 (ns)
    percpu = {0: (0, 0), 1: (30 * 10**9, 10 * 10**9), 2: (0, 0), 3: (5 * 10**9, 10**9)}
    cpu = CpuCounters(46 * 10**9)
    text = procview.stat(inputs(cpus=(1, 3), cpu=cpu, percpu=percpu))
    lines_ = text.splitlines()
    assert lines_[0] == f"cpu  3500 0 1100 {2 * ELAPSED_PER_CPU - 4600} 0 0 0 0 0 0"
    assert lines_[1] == f"cpu0 3000 0 1000 {ELAPSED_PER_CPU - 4000} 0 0 0 0 0 0"
    assert lines_[2] == f"cpu1 500 0 100 {ELAPSED_PER_CPU - 600} 0 0 0 0 0 0"
    host_rest = STAT.replace("procs_running 3", "procs_running 0").replace(
        "procs_blocked 1", "procs_blocked 0"
    )
    assert lines_[3:] == host_rest.splitlines()[5:]  # the host's, but its own running and blocked threads


def test_stat_v2_spreads_usage_and_counts_the_containers_threads() -> None:
    cpu = CpuCounters(30 * 10**9, user_ns=20 * 10**9, system_ns=10 * 10**9)
    tasks = (Task("R", 1, 2), Task("S", 7, 2), Task("D", 8, 2), Task("R", 9, 2))
    text = procview.stat(inputs(cpus=(0, 2), cpu=cpu, tasks=tasks))
    cpus = stat_cpus(text)
    assert cpus[1] == cpus[2] == [1000, 0, 500, ELAPSED_PER_CPU - 1500, 0, 0, 0, 0, 0, 0]
    assert cpus[0] == [2000, 0, 1000, 2 * ELAPSED_PER_CPU - 3000, 0, 0, 0, 0, 0, 0]
    assert "procs_running 2\nprocs_blocked 1\n" in text
    assert "btime 1764250000\n" in text


def test_stat_with_a_quota_scales_each_line_to_the_allowance() -> None:
    # quota 0.2 CPU: one CPU shown, whose line adds up to a fifth of the time that passed; a container
    # that used its whole quota since boot shows no idle time, as top inside it shows 100 % busy
    busy = ELAPSED_PER_CPU // 5 * 10**7  # in ns: 1/5 of the CPU's ticks
    cpu = CpuCounters(busy, user_ns=busy, system_ns=0)
    cpus = stat_cpus(procview.stat(inputs(quota=0.2, cpu=cpu)))
    assert cpus[1] == [ELAPSED_PER_CPU // 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    half = CpuCounters(busy // 2, user_ns=busy // 2, system_ns=0)
    assert stat_cpus(procview.stat(inputs(quota=0.2, cpu=half)))[1][3] == ELAPSED_PER_CPU // 10


def test_stat_without_cpu_accounting_is_the_hosts_lines_renumbered() -> None:
    cpus = stat_cpus(procview.stat(inputs(cpus=(1,))))
    assert cpus == [[100000, 200, 24000, 750000, 5000, 0, 800, 0, 0, 0]] * 2


def test_uptime_is_the_inits_age_and_idle_what_the_allowance_left() -> None:
    # init started at 9000.00 s; 1000.50 s on 2 CPUs of allowance is 2001.00 CPU-seconds, 500 used
    cpu = CpuCounters(500 * 10**9)
    assert procview.uptime(inputs(cpus=(0, 1), cpu=cpu)) == "1000.50 1501.00\n"
    assert procview.uptime(inputs(quota=0.25, cpu=CpuCounters(10**12))) == "1000.50 0.00\n"


def test_loadavg_from_the_containers_threads() -> None:
    tasks = (
        Task("R", 1, 2), Task("D", 12, 2), Task("S", 40, 2), Task("R", 41, 2),
        Task("S", 30999, 1),  # the unshare parent, in the host's pid namespace
    )  # fmt: skip
    assert procview.loadavg(inputs(tasks=tasks)) == "3.00 3.00 3.00 2/5 41\n"
    assert procview.loadavg(inputs()) == "0.00 0.00 0.00 0/0 0\n"


# -- disks ---------------------------------------------------------------------------------------------


def test_diskstats_lists_the_devices_the_cgroup_used() -> None:
    io = {
        (8, 0): IoDevice(4096 * 10, 512 * 6, 10, 3, 1024, 1),
        (259, 0): IoDevice(),  # nothing done there: left out, as LXCFS does
        (253, 0): IoDevice(512, 0, 1, 0),  # not in the host's diskstats: no name to show
    }
    assert procview.diskstats(inputs(io=io, memory=None)) == (
        "   8       0 sda 10 0 80 0 3 0 6 0 0 0 0 1 0 2 0 0 0\n"
    )
    # a kernel before 4.18 writes 11 counters: so does the view
    old = replace(HOST, diskstats=" 259       0 nvme0n1 1203 0 98234 412 0 0 0 0 0 380 412\n")
    v = replace(inputs(io={(259, 0): IoDevice(512, 0, 1, 0)}), host=old)
    assert procview.diskstats(v) == " 259       0 nvme0n1 1 0 1 0 0 0 0 0 0 0 0\n"


# -- the command ---------------------------------------------------------------------------------------


def test_every_view_is_rendered_by_name() -> None:
    assert tuple(procview.FILES) == VIEW_FILES
    mem = MemoryCounters(MIB, STAT_V2, None, 0, None, 0)
    v = inputs(memory=mem, cpu=CpuCounters(10**9, 10**9, 0), io={})
    for name in VIEW_FILES:
        assert procview.render(name, v).endswith("\n") or name == "diskstats"


@pytest.mark.parametrize("argv", [["top", "--json", "-d", "0.1"], ["procview", "1", "meminfo", "--json"]])
def test_top_and_procview_load_no_ui_library(argv: list[str]) -> None:
    assert loaded_ui_modules(argv) == []
