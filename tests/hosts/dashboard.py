"""Fixed fake hosts for the dashboard's tests and screenshots: nothing in them depends on the time or
on the machine the tests run on."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fakehost import FakeHost, Mode
from helpers import private

from .members import write_io, write_rollup
from .systemd import SESSION, docker_nginx, init_and_kernel_threads, podman_postgres, ssh_session

DOCKER_ID = hashlib.sha256(b"docker").hexdigest()
PODMAN_ID = hashlib.sha256(b"podman").hexdigest()
DOCKER_CG = f"/system.slice/docker-{DOCKER_ID}.scope"
PODMAN_CG = f"/machine.slice/libpod-{PODMAN_ID}.scope"
UNSHARE_MNT, UNSHARE_PID = 4026532310, 4026532311
MARKUP_COMMAND = "python3 -c print('[bold]not markup[/bold]')\n"  # data that looks like markup, and a newline


DOCKER_NS = private(2)
PODMAN_NS = private(6)


def write_system_files(h: FakeHost) -> None:
    """/proc/stat with four online CPUs, loadavg, meminfo and uptime as proc(5) shows them."""
    cpus = "".join(f"cpu{i} 2211 0 1204 80551 63 0 12 0 0 0\n" for i in range(4))
    h.write(
        "/proc/stat",
        f"cpu  8844 0 4816 322204 252 0 48 0 0 0\n{cpus}intr 0\nctxt 0\nbtime {h.btime}\nprocesses 1400\n",
    )
    h.write("/proc/loadavg", "0.52 0.38 0.30 2/131 1202\n")
    h.write("/proc/uptime", "273845.12 1001234.50\n")
    h.write(
        "/proc/meminfo",
        "MemTotal:        8131400 kB\nMemFree:         2011620 kB\nMemAvailable:    5923120 kB\n"
        "Buffers:          201332 kB\nCached:          3310480 kB\n",
    )


MIB = 1024 * 1024


def write_usage_files(h: FakeHost) -> None:
    """The counters cgscope top reads (cgroup-v2.rst: cpu.stat, cpu.max, memory.*, pids.*, io.stat,
    *.pressure; proc(5): vmstat, diskstats), fixed: two refreshes see no CPU time pass."""
    h.write("/sys/devices/system/cpu/online", "0-3\n")
    h.write("/proc/vmstat", "nr_free_pages 502905\noom_kill 1\n")
    h.write("/proc/diskstats", "   8       0 sda 1200 0 96000 500 800 0 64000 900 0 1000 1400 0 0 0 0 0 0\n")
    h.path("/sys/block/sda").mkdir(parents=True)
    h.write("/proc/sys/kernel/pid_max", "4194304\n")
    h.write("/proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n")
    h.write("/proc/cpuinfo", "".join(f"processor\t: {i}\nmodel name\t: Fixture CPU\n\n" for i in range(4)))
    h.write("/proc/sys/kernel/threads-max", "63241\n")
    some = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
    for kind in ("cpu", "memory", "io"):
        h.write(f"/proc/pressure/{kind}", some)
    # (cgroup, cpu.max, memory.current, memory.max, pids.current, oom kills, cpu pressure avg10)
    cgroups = (
        (DOCKER_CG, "50000 100000", 200 * MIB, str(256 * MIB), 2, 0, 12.5),
        (PODMAN_CG, "max 100000", 300 * MIB, str(1024 * MIB), 1, 2, 0.0),
        (SESSION, "max 100000", 40 * MIB, "max", 7, 0, 0.0),
    )
    for cgroup, cpu_max, current, memory_max, pids, ooms, psi in cgroups:
        d = f"/sys/fs/cgroup{cgroup}"
        h.write(f"{d}/cpu.stat", "usage_usec 81000000\nuser_usec 60000000\nsystem_usec 21000000\n"
                "nr_periods 9000\nnr_throttled 900\nthrottled_usec 4000000\n")  # fmt: skip
        h.write(f"{d}/cpu.max", cpu_max + "\n")
        h.write(f"{d}/cpuset.cpus.effective", "0-3\n")
        h.write(f"{d}/memory.current", f"{current}\n")
        h.write(f"{d}/memory.max", memory_max + "\n")
        h.write(
            f"{d}/memory.stat", f"anon {current // 2}\nfile {current // 2}\ninactive_file {current // 4}\n"
        )
        h.write(f"{d}/memory.events", f"low 0\nhigh 0\nmax 0\noom 0\noom_kill {ooms}\n")
        h.write(f"{d}/pids.current", f"{pids}\n")
        h.write(f"{d}/pids.max", "max\n")
        h.write(f"{d}/cpu.pressure", some.replace("some avg10=0.00", f"some avg10={psi:.2f}"))


def dashboard_host(tmp_path: Path, mode: Mode = "v2") -> FakeHost:
    """A host with a Docker, a Podman and a bare (`unshare`) container beside a few services."""
    h = FakeHost(tmp_path, mode)
    write_system_files(h)
    add = h.add_process
    init_and_kernel_threads(h)
    add(410, "sshd", ["sshd: /usr/sbin/sshd -D"], cgroup="/system.slice/sshd.service")
    docker_nginx(h, DOCKER_ID, "web")
    podman_postgres(h, PODMAN_ID)
    ssh_session(h)
    add(
        1020,
        "python3",
        ["python3", "-c", "print('[bold]not markup[/bold]')\n"],
        ppid=1010,
        uid=1000,
        cgroup=SESSION,
    )
    # `unshare --pid --fork --mount-proc sh -c 'sleep 1000 & sleep 1000'` from the session.
    add(
        1200,
        "unshare",
        ["unshare", "--pid", "--fork", "--mount-proc", "sh"],
        ppid=1010,
        cgroup=SESSION,
        ns={"mnt": UNSHARE_MNT},
    )
    inside = {"mnt": UNSHARE_MNT, "pid": UNSHARE_PID}
    add(1201, "sh", ["sh"], ppid=1200, cgroup=SESSION, nspid=(1201, 1), ns=inside)
    add(1202, "sleep", ["sleep", "1000"], ppid=1201, cgroup=SESSION, nspid=(1202, 2), ns=inside)
    add(1203, "sleep", ["sleep", "1000"], ppid=1201, cgroup=SESSION, nspid=(1203, 3), ns=inside)
    for pid in range(1200, 1204):  # the session holds bash and python3 too: measured by its processes
        write_rollup(h, pid, anon_kib=300, file_kib=212)
        write_io(h, pid, read_bytes=0, write_bytes=0)
    if mode == "v2":
        write_usage_files(h)
    return h
