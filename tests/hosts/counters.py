"""A Docker container ("web") with every usage counter of its cgroup version, on cgroup v2 and on a
hybrid host, beside the host-wide files top and procview read as a 4-CPU machine writes them.
"""

from __future__ import annotations

from pathlib import Path

from fakehost import FakeHost
from helpers import files

from cgscope.fs.pressure import PRESSURE_KINDS

MEMINFO = """\
MemTotal:        8039412 kB
MemFree:         3919244 kB
MemAvailable:    6716068 kB
Buffers:          210036 kB
Cached:          2601108 kB
SwapCached:            0 kB
Active:          1296620 kB
Inactive:        2386112 kB
Active(anon):       2588 kB
Inactive(anon):   878212 kB
Active(file):    1294032 kB
Inactive(file):  1507900 kB
Unevictable:           0 kB
Mlocked:               0 kB
SwapTotal:       8388604 kB
SwapFree:        8388604 kB
Zswap:                 0 kB
Zswapped:              0 kB
Dirty:               200 kB
Writeback:             0 kB
AnonPages:        871584 kB
Mapped:           387180 kB
Shmem:              9212 kB
KReclaimable:     220516 kB
Slab:             331400 kB
SReclaimable:     220516 kB
SUnreclaim:       110884 kB
KernelStack:       12048 kB
PageTables:        19292 kB
SecPageTables:         0 kB
NFS_Unstable:          0 kB
Bounce:                0 kB
WritebackTmp:          0 kB
CommitLimit:    12408308 kB
Committed_AS:    4620904 kB
VmallocTotal:   34359738367 kB
VmallocUsed:       43560 kB
VmallocChunk:          0 kB
Percpu:             3456 kB
HardwareCorrupted:     0 kB
AnonHugePages:         0 kB
ShmemHugePages:        0 kB
ShmemPmdMapped:        0 kB
FileHugePages:         0 kB
FilePmdMapped:         0 kB
HugePages_Total:       0
HugePages_Free:        0
HugePages_Rsvd:        0
HugePages_Surp:        0
Hugepagesize:       2048 kB
Hugetlb:               0 kB
DirectMap4k:      380788 kB
DirectMap2M:     7921664 kB
DirectMap1G:           0 kB
"""


def cpuinfo_block(n: int) -> str:
    """One processor's block of arch/x86/kernel/cpu/proc.c show_cpuinfo (flags shortened)."""
    return (
        f"processor\t: {n}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 142\n"
        f"model name\t: Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz\nstepping\t: 10\nmicrocode\t: 0xf0\n"
        f"cpu MHz\t\t: 1800.000\ncache size\t: 6144 KB\nphysical id\t: 0\nsiblings\t: 4\ncore id\t\t: {n}\n"
        f"cpu cores\t: 4\napicid\t\t: {2 * n}\ninitial apicid\t: {2 * n}\nfpu\t\t: yes\n"
        f"flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr\nbogomips\t: 3600.00\n"
        f"clflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 39 bits physical, 48 bits virtual\n"
        f"power management:\n\n"
    )


CPUINFO = "".join(cpuinfo_block(n) for n in range(4))


# fs/proc/stat.c: the "cpu" total (two spaces), one line per online CPU, then the rest.
STAT = """\
cpu  400000 500 96000 3000000 20000 0 3500 0 0 0
cpu0 100000 100 24000 750000 5000 0 900 0 0 0
cpu1 100000 200 24000 750000 5000 0 800 0 0 0
cpu2 100000 100 24000 750000 5000 0 900 0 0 0
cpu3 100000 100 24000 750000 5000 0 900 0 0 0
intr 48218123 9 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0
ctxt 91834521
btime 1764250000
processes 123456
procs_running 3
procs_blocked 1
softirq 12399223 4 2893210 36 301220 142 0 1289 5100239 23 4013060
"""


UPTIME = "10000.50 35000.25\n"


SWAPS = (  # mm/swapfile.c swap_show
    "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
    "/dev/sda3                               partition\t8388604\t\t0\t\t-2\n"
)


DISKSTATS = (
    "   8       0 sda 91845 22516 5672934 61023 151822 120541 9712568 289012 0 133548 375113 1290 0 "
    "3366528 612 15201 24476\n"
    "   8       1 sda1 342 1000 23570 210 2 0 2 0 0 168 210 0 0 0 0 0 0\n"
    " 259       0 nvme0n1 1203 0 98234 412 0 0 0 0 0 380 412 0 0 0 0 0 0\n"
)


MIB = 1 << 20


CID = "4f3c" + "0123456789abcdef" * 3 + "deadbeefcafe"


V2_CG = f"/system.slice/docker-{CID}.scope"


V1_CG = f"/docker/{CID}"


PSI = "some avg10=12.50 avg60=3.00 avg300=1.00 total=98765\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"


def with_host_files(h: FakeHost) -> FakeHost:
    """The host-wide files top and procview read, as a 4-CPU machine writes them."""
    for name, text in (
        ("meminfo", MEMINFO), ("cpuinfo", CPUINFO), ("stat", STAT), ("uptime", UPTIME), ("swaps", SWAPS),
        ("diskstats", DISKSTATS), ("loadavg", "0.52 0.58 0.59 3/214 31652\n"),
        ("vmstat", "nr_free_pages 979811\nnr_zone_inactive_anon 219553\noom_kill 2\n"),
        ("sys/kernel/pid_max", "4194304\n"), ("sys/kernel/threads-max", "63449\n"),
    ):  # fmt: skip
        h.write(f"/proc/{name}", text)
    for kind in PRESSURE_KINDS:
        h.write(f"/proc/pressure/{kind}", PSI)
    h.write("/sys/devices/system/cpu/online", "0-3\n")
    for disk in ("sda", "nvme0n1"):  # sda1 is a partition: not under /sys/block
        h.path(f"/sys/block/{disk}").mkdir(parents=True)
    return h


def with_container(h: FakeHost, cgroup: str) -> FakeHost:
    """The host's init and kthreadd (the reference for the host's namespaces), and a docker container:
    init (nspid 1) and one thread's status under task/."""
    h.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup="/init.scope", start_ticks=1)
    h.add_process(2, "kthreadd", ppid=0, kernel_thread=True, start_ticks=1)
    h.add_process(4242, "nginx", ["nginx", "-g", "daemon off;"], cgroup=cgroup, nspid=[4242, 1],
                  ns={"pid": 4026532301, "mnt": 4026532302}, start_ticks=900_000, state="R")  # fmt: skip
    h.docker_container(CID, "web", 4242)
    status = h.path("/proc/4242/status").read_text()
    h.write("/proc/4242/task/4242/status", status)
    return h


def v2_host(tmp_path: Path) -> FakeHost:
    h = with_container(with_host_files(FakeHost(tmp_path, "v2")), V2_CG)
    root, top = h.cgroup_dir("unified", "/"), h.cgroup_dir("unified", V2_CG)
    assert root is not None and top is not None
    files(root, cpu__stat="usage_usec 90000000\nuser_usec 60000000\nsystem_usec 30000000\n",
          cpuset__cpus__effective="0-3\n")  # fmt: skip
    files(top.parent, memory__max=f"{200 * MIB}\n", pids__max="1000\n", cpu__max="max 100000\n")
    files(
        top,
        cpu__stat="usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\ncore_sched.force_idle_usec 0\n"
        "nr_periods 100\nnr_throttled 90\nthrottled_usec 7000000\nnr_bursts 0\nburst_usec 0\n",
        cpu__max="20000 100000\n",
        cpuset__cpus__effective="1-2\n",
        memory__current=f"{100 * MIB}\n",
        memory__max=f"{256 * MIB}\n",
        memory__stat=(
            "anon 62914560\nfile 41943040\nkernel 1048576\nkernel_stack 524288\npagetables 262144\n"
            "sec_pagetables 0\npercpu 0\nsock 0\nvmalloc 0\nshmem 4194304\nzswap 0\nzswapped 0\n"
            "file_mapped 8388608\nfile_dirty 1048576\nfile_writeback 0\nswapcached 0\nanon_thp 2097152\n"
            "file_thp 0\nshmem_thp 0\ninactive_anon 52428800\nactive_anon 10485760\ninactive_file 26214400\n"
            "active_file 15728640\nunevictable 0\nslab_reclaimable 3145728\nslab_unreclaimable 1048576\n"
            "slab 4194304\nworkingset_refault_anon 0\npgfault 1234\npgmajfault 0\n"
        ),
        memory__events="low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n",
        memory__swap__current=f"{2 * MIB}\n",
        memory__swap__max="max\n",
        pids__current="3\n",
        pids__max="max\n",
        io__stat="8:0 rbytes=40960 wbytes=3072 rios=10 wios=3 dbytes=1024 dios=1\n"
        "259:0 rbytes=0 wbytes=0 rios=0 wios=0 dbytes=0 dios=0\n",
        cpu__pressure=PSI,
        memory__pressure=PSI.replace("12.50", "0.50"),
        io__pressure=PSI.replace("12.50", "1.25"),
    )
    return h


def hybrid_host(tmp_path: Path) -> FakeHost:
    h = with_container(with_host_files(FakeHost(tmp_path, "hybrid")), V1_CG)

    def at(key: str, cgroup: str = V1_CG) -> Path:
        d = h.cgroup_dir(key, cgroup)
        assert d is not None
        return d

    files(at("cpu", "/"), cpu__cfs_quota_us="-1\n", cpu__cfs_period_us="100000\n")
    files(at("cpu", "/docker"), cpu__cfs_quota_us="25000\n", cpu__cfs_period_us="100000\n")
    files(
        at("cpu"),
        cpu__cfs_quota_us="50000\n",
        cpu__cfs_period_us="100000\n",
        cpu__stat="nr_periods 30\nnr_throttled 3\nthrottled_time 123456789\nnr_bursts 0\nburst_time 0\n",
    )
    files(
        at("cpuacct"),
        cpuacct__usage="46000000000\n",
        cpuacct__usage_all="cpu user system\n0 0 0\n1 0 0\n2 30000000000 10000000000\n"
        "3 5000000000 1000000000\n",
    )
    files(at("cpuset"), cpuset__cpus="2-3\n", cpuset__effective_cpus="2-3\n")
    files(
        at("memory"),
        memory__usage_in_bytes=f"{100 * MIB}\n",
        memory__stat=(
            "cache 41943040\nrss 62914560\nrss_huge 2097152\nshmem 4194304\nmapped_file 8388608\ndirty 0\n"
            "writeback 0\nswap 0\npgpgin 100\npgpgout 50\npgfault 300\npgmajfault 0\ninactive_anon 52428800\n"
            "active_anon 10485760\ninactive_file 26214400\nactive_file 15728640\nunevictable 0\n"
            f"hierarchical_memory_limit {256 * MIB}\nhierarchical_memsw_limit 9223372036854771712\n"
            "total_cache 41943040\ntotal_rss 62914560\ntotal_rss_huge 2097152\ntotal_shmem 4194304\n"
            "total_mapped_file 8388608\ntotal_dirty 0\ntotal_writeback 0\ntotal_swap 0\ntotal_pgpgin 100\n"
            "total_pgpgout 50\ntotal_pgfault 300\ntotal_pgmajfault 0\ntotal_inactive_anon 52428800\n"
            "total_active_anon 10485760\ntotal_inactive_file 26214400\ntotal_active_file 15728640\n"
            "total_unevictable 0\n"
        ),
        memory__oom_control="oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
        memory__swappiness="60\n",
    )
    files(at("pids"), pids__current="5\n", pids__max="64\n")
    blkio = "8:0 Read 8192\n8:0 Write 4096\n8:0 Sync 12288\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 12288\n"
    files(
        at("blkio"),
        blkio__throttle__io_service_bytes_recursive=blkio + "Total 12288\n",
        blkio__throttle__io_serviced_recursive=blkio.replace("8192", "2")
        .replace("4096", "1")
        .replace("12288", "3")
        + "Total 3\n",
    )
    files(at("unified"), cpu__stat="usage_usec 46000000\nuser_usec 35000000\nsystem_usec 11000000\n",
          cpu__pressure=PSI)  # fmt: skip
    return h
