"""limit, move, freeze, thaw, undo and nsenter on this machine's kernel (hybrid: cgroup v1 controllers).

Only processes these tests start are limited or moved. Processes start in the root cgroup of every
hierarchy but memory, where this machine's supervisor puts each session in a cgroup of its own that
must never be written: memory tests first put their process in a cgroup of their own. Every cgroup made
here or by cgscope is removed afterwards, and the journal goes to a temporary directory.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from cgscope.cli import main

from .containers import (
    BareContainer,
    Hierarchy,
    TestCgroup,
    bare_container,
    cgroup_hierarchies,
    create_test_cgroup,
    kill_and_reap,
    ns_inodes,
    wait_until,
)

MAIN = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if os.geteuid() != 0:
        pytest.skip("needs root: changes real cgroups")
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    return tmp_path / "state" / "journal.jsonl"


def hierarchies() -> dict[str, Hierarchy]:
    return {h.key: h for h in cgroup_hierarchies()}


def needs_v1(*keys: str) -> dict[str, Path]:
    found = hierarchies()
    missing = [k for k in keys if k not in found or found[k].version != 1]
    if missing:
        pytest.skip(f"needs cgroup v1 hierarchies {', '.join(missing)} (this project's hybrid VM)")
    return {k: found[k].mountpoint for k in keys}


def cgscope(*argv: str) -> str:
    out = io.StringIO()
    status = main(list(argv), out=out)
    assert status == 0, (argv, out.getvalue())
    return out.getvalue()


def cgroup_of(pid: int, key: str) -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == key:
            return path
    raise KeyError(key)


def cpu_ticks(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def cpu_percent(pid: int, seconds: float = 3.0) -> float:
    """The process's CPU use over `seconds`, as top counts it (100 = one CPU), from /proc/PID/stat."""
    t0, c0 = time.monotonic(), cpu_ticks(pid)
    time.sleep(seconds)
    t1, c1 = time.monotonic(), cpu_ticks(pid)
    return (c1 - c0) / os.sysconf("SC_CLK_TCK") / (t1 - t0) * 100


def remove_if_left(*dirs: Path) -> None:
    """Clean up after a failed test: rmdir what cgscope made (its processes are dead by now)."""
    for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        wait_until(partial(_rmdir, d), 5, f"rmdir {d}")


def _rmdir(d: Path) -> bool:
    try:
        d.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def state_snapshot(pid: int, dirs: list[Path]) -> tuple[str, dict[str, list[str]]]:
    return Path(f"/proc/{pid}/cgroup").read_text(), {str(d): sorted(os.listdir(d)) for d in dirs}


@pytest.fixture
def busy_loop() -> Iterator[int]:
    """`sh -c 'while :; do :; done'` at nice -10, so that on a busy shared machine it still gets all
    the CPU its quota allows."""
    roots = needs_v1("cpu")
    proc = subprocess.Popen(["nice", "-n", "-10", "sh", "-c", "while :; do :; done"])
    made = roots["cpu"] / f"cgscope-{proc.pid}"
    try:
        if cgroup_of(proc.pid, "cpu") != "/":
            pytest.skip("this session does not run in the cpu hierarchy's root cgroup")
        yield proc.pid
    finally:
        kill_and_reap(proc)
        remove_if_left(made)


def test_limit_cpu_of_a_busy_loop_then_undo(busy_loop: int, journal: Path) -> None:
    pid = busy_loop
    cpu_root = hierarchies()["cpu"].mountpoint
    child = cpu_root / f"cgscope-{pid}"
    before = state_snapshot(pid, [cpu_root])
    preview = cgscope("limit", str(pid), "--cpu", "20%", "--dry-run")
    assert f"mkdir {child}" in preview
    assert f"write {child}/cpu.cfs_quota_us = 20000" in preview
    assert f"write {child}/cgroup.procs = {pid}" in preview
    assert state_snapshot(pid, [cpu_root]) == before and not journal.exists()

    unlimited = cpu_percent(pid, 1.0)
    cgscope("limit", str(pid), "--cpu", "20%")
    assert cgroup_of(pid, "cpu") == f"/cgscope-{pid}"
    assert (child / "cpu.cfs_quota_us").read_text() == "20000\n"
    assert (child / "cpu.cfs_period_us").read_text() == "100000\n"
    assert (child / "cgroup.procs").read_text().split() == [str(pid)]
    measured = [cpu_percent(pid)]
    while not 17 <= measured[-1] <= 23 and len(measured) < 4:  # a shared machine: measure again
        measured.append(cpu_percent(pid))
    print(f"busy loop: {unlimited:.1f} % unlimited (1 s), {measured} % limited to 20 % (3 s each)")
    assert 17 <= measured[-1] <= 23, measured

    history = json.loads(cgscope("history", "--json"))
    [change] = history["changes"]
    assert (change["action"], change["status"], change["target_pids"]) == ("limit", "applied", [pid])
    assert change["created"] == [str(child)]
    assert change["moved"] == [{"pid": pid, "hierarchy": "cpu", "from": "/", "to": f"/cgscope-{pid}"}]

    assert "undid change 1" in cgscope("undo")
    assert cgroup_of(pid, "cpu") == "/"
    assert not child.exists()
    assert json.loads(cgscope("history", "--json"))["changes"][0]["status"] == "undone"
    free = [cpu_percent(pid, 1.0)]
    while free[-1] <= measured[-1] + 10 and len(free) < 4:  # a shared machine (or vCPU): measure again
        free.append(cpu_percent(pid, 1.0))
    assert free[-1] > measured[-1] + 10, free  # free again


@pytest.fixture
def sleeper() -> Iterator[tuple[int, TestCgroup]]:
    """A sleep with a companion in a test cgroup of the memory hierarchy (shared, so cgscope makes a
    child there); in the root cgroup of pids and cpuset."""
    needs_v1("memory", "pids", "cpuset")
    cg = create_test_cgroup(hierarchies=[hierarchies()["memory"]])
    procs = cg.dirs["memory"] / "cgroup.procs"
    started = [subprocess.Popen(["sh", "-c", f"echo $$ > {procs} && exec sleep 1000"]) for _ in range(2)]
    pid = started[0].pid
    made = [hierarchies()[k].mountpoint / f"cgscope-{pid}" for k in ("pids", "cpuset")]
    made.append(cg.dirs["memory"] / f"cgscope-{pid}")
    try:
        wait_until(lambda: all(str(p.pid) in procs.read_text().split() for p in started), 5, "the sleeps")
        if cgroup_of(pid, "pids") != "/" or cgroup_of(pid, "cpuset") != "/":
            pytest.skip("this session does not run in the pids and cpuset root cgroups")
        yield pid, cg
    finally:
        for p in started:
            kill_and_reap(p)
        remove_if_left(*made)
        cg.remove()


def test_memory_pids_cpuset_then_undo(sleeper: tuple[int, TestCgroup]) -> None:
    pid, cg = sleeper
    roots = hierarchies()
    memory = cg.dirs["memory"] / f"cgscope-{pid}"
    pids, cpuset = (roots[k].mountpoint / f"cgscope-{pid}" for k in ("pids", "cpuset"))
    watched = [cg.dirs["memory"], roots["pids"].mountpoint, roots["cpuset"].mountpoint]
    before = state_snapshot(pid, watched)
    cgscope("limit", str(pid), "--memory", "256M", "--pids", "50", "--cpuset", "0", "--dry-run")
    assert state_snapshot(pid, watched) == before

    cgscope("limit", str(pid), "--memory", "256M", "--pids", "50", "--cpuset", "0")
    assert (memory / "memory.limit_in_bytes").read_text() == "268435456\n"
    assert (pids / "pids.max").read_text() == "50\n"
    assert (cpuset / "cpuset.cpus").read_text() == "0\n"
    assert (cpuset / "cpuset.mems").read_text() == (roots["cpuset"].mountpoint / "cpuset.mems").read_text()
    assert cgroup_of(pid, "memory") == f"{cg.path}/cgscope-{pid}"
    assert (cgroup_of(pid, "pids"), cgroup_of(pid, "cpuset")) == (f"/cgscope-{pid}", f"/cgscope-{pid}")

    # A second change in the cgroups it now has alone: written in place, old values recorded.
    out = cgscope("limit", str(pid), "--memory", "512M", "--memory-swap", "1G", "--pids", "max")
    assert "was 268435456" in out and "mkdir" not in out
    assert (memory / "memory.memsw.limit_in_bytes").read_text() == "1073741824\n"
    assert (pids / "pids.max").read_text() == "max\n"

    cgscope("undo")
    assert (memory / "memory.limit_in_bytes").read_text() == "268435456\n"
    assert (memory / "memory.memsw.limit_in_bytes").read_text() == "9223372036854771712\n"
    assert (pids / "pids.max").read_text() == "50\n"
    cgscope("undo")
    assert cgroup_of(pid, "memory") == cg.path
    assert (cgroup_of(pid, "pids"), cgroup_of(pid, "cpuset")) == ("/", "/")
    assert not any(d.exists() for d in (memory, pids, cpuset))
    assert state_snapshot(pid, watched) == before


def test_io_and_weights_then_undo(busy_loop: int) -> None:
    roots = needs_v1("blkio", "cpu")
    disks = sorted(d for d in Path("/sys/block").iterdir() if not d.name.startswith(("loop", "ram", "zram")))
    if not disks or cgroup_of(busy_loop, "blkio") != "/":
        pytest.skip("needs a disk, and this session in the blkio root cgroup")
    device = (disks[0] / "dev").read_text().strip()
    blkio = roots["blkio"] / f"cgscope-{busy_loop}"
    # v1's IO weight is BFQ's: blkio.bfq.weight exists only while a disk uses the bfq scheduler.
    bfq = (roots["blkio"] / "blkio.bfq.weight").exists()
    try:
        cgscope(
            "limit", str(busy_loop), "--io-max", f"{device}:rbps=1M,wiops=100",
            *(("--io-weight", "200") if bfq else ()), "--cpu-weight", "50",
        )  # fmt: skip
        assert (blkio / "blkio.throttle.read_bps_device").read_text() == f"{device} 1048576\n"
        assert (blkio / "blkio.throttle.write_iops_device").read_text() == f"{device} 100\n"
        assert not bfq or (blkio / "blkio.bfq.weight").read_text() == "200\n"
        assert (roots["cpu"] / f"cgscope-{busy_loop}" / "cpu.shares").read_text() == "512\n"
        out = cgscope("limit", str(busy_loop), "--io-max", f"{device}:rbps=max")  # in place now
        assert "mkdir" not in out and (blkio / "blkio.throttle.read_bps_device").read_text() == ""
        cgscope("undo")
        assert (blkio / "blkio.throttle.read_bps_device").read_text() == f"{device} 1048576\n"
        cgscope("undo")
        assert cgroup_of(busy_loop, "blkio") == "/" and not blkio.exists()
    finally:
        remove_if_left(blkio)


def test_move_into_every_hierarchy_then_undo() -> None:
    """`move` without --controller moves into every hierarchy: the process starts in test cgroups of
    its own in all of them, so that undo moves it back only into cgroups this test made."""
    home = create_test_cgroup()
    joins = "".join(f"echo $$ > {f} && " for f in home.procs_files())
    proc = subprocess.Popen(["sh", "-c", f"{joins}exec sleep 1000"])
    away = TestCgroup(
        home.name + "-away", {k: d.with_name(home.name + "-away") for k, d in home.dirs.items()}
    )
    try:
        wait_until(lambda: all(str(proc.pid) in f.read_text().split() for f in home.procs_files()), 5, "join")
        cgscope("move", str(proc.pid), away.path, "--create")
        for key, d in away.dirs.items():
            assert d.is_dir() and (d / "cgroup.procs").read_text().split() == [str(proc.pid)], key
        if (
            "cpuset" in away.dirs
        ):  # a new v1 cpuset got its parent's cpus and mems, or it could not hold a task
            assert (away.dirs["cpuset"] / "cpuset.cpus").read_text() == (
                home.dirs["cpuset"] / "cpuset.cpus"
            ).read_text()
        cgscope("undo")
        for key, d in home.dirs.items():
            assert (d / "cgroup.procs").read_text().split() == [str(proc.pid)], key
        assert not any(d.exists() for d in away.dirs.values())
    finally:
        kill_and_reap(proc)
        remove_if_left(*away.dirs.values())
        home.remove()


def test_move_named_hierarchies(busy_loop: int) -> None:
    needs_v1("pids")
    roots = hierarchies()
    name = f"cgscope-test-move-{busy_loop}"
    made = [roots[k].mountpoint / name for k in ("cpu", "pids")]
    try:
        cgscope("move", str(busy_loop), f"/{name}", "--create", "--controller", "cpu", "--controller", "pids")
        assert (cgroup_of(busy_loop, "cpu"), cgroup_of(busy_loop, "pids")) == (f"/{name}", f"/{name}")
        assert cgroup_of(busy_loop, "freezer") == "/"
        cgscope("undo")
        assert (cgroup_of(busy_loop, "cpu"), cgroup_of(busy_loop, "pids")) == ("/", "/")
        assert not any(d.exists() for d in made)
    finally:
        remove_if_left(*made)


def test_limit_a_container_in_its_own_cgroup(bare_container: BareContainer) -> None:
    needs_v1("cpu", "memory", "pids")
    dirs = bare_container.cgroup.dirs
    out = cgscope("limit", str(bare_container.init_pid), "--cpu", "0.5", "--memory", "64M", "--pids", "20")
    assert "mkdir" not in out and "cgroup.procs" not in out  # its own cgroups: written in place
    assert (dirs["cpu"] / "cpu.cfs_quota_us").read_text() == "50000\n"
    assert (dirs["memory"] / "memory.limit_in_bytes").read_text() == "67108864\n"
    assert (dirs["pids"] / "pids.max").read_text() == "20\n"
    cgscope("undo")
    assert (dirs["cpu"] / "cpu.cfs_quota_us").read_text() == "-1\n"
    assert (dirs["pids"] / "pids.max").read_text() == "max\n"


def test_freeze_and_thaw(bare_container: BareContainer) -> None:
    needs_v1("freezer")
    state = bare_container.cgroup.dirs["freezer"] / "freezer.state"
    cgscope("freeze", str(bare_container.init_pid))
    assert state.read_text() == "FROZEN\n"
    for p in bare_container.member_pids:  # frozen tasks show as D, "disk sleep" (proc(5))
        assert "State:\tD" in Path(f"/proc/{p}/status").read_text(), p
    cgscope("thaw", str(bare_container.init_pid))
    assert state.read_text() == "THAWED\n"
    cgscope("undo")  # undoing the thaw freezes again
    assert state.read_text() == "FROZEN\n"
    cgscope("undo")
    assert state.read_text() == "THAWED\n"


# -- nsenter ------------------------------------------------------------------------------------------

HOSTNAME = "cgscope-nsenter"


def interpreters() -> list[Any]:
    """This Python (3.11: setns through ctypes) and, when installed, a 3.12+ one (os.setns)."""
    this = pytest.param(sys.executable, id=f"python{sys.version_info.major}.{sys.version_info.minor}")
    for version in ("3.13", "3.12"):
        found = [
            shutil.which(f"python{version}"),
            *Path.home().glob(f".pyenv/versions/{version}*/bin/python"),
        ]
        for candidate in filter(None, found):
            probe = [str(candidate), "-c", "import os; os.setns"]
            if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
                return [this, pytest.param(str(candidate), id=f"python{version}")]
    return [this]


@pytest.fixture(scope="module")
def named_container() -> Iterator[BareContainer]:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare")
    with bare_container(f"hostname {HOSTNAME}; sleep 1000 & sleep 1000 & wait") as c:
        yield c


def nsenter(python: str, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(MAIN)}
    return subprocess.run(
        [python, "-m", "cgscope", "nsenter", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("python", interpreters())
def test_nsenter_sees_the_container(named_container: BareContainer, python: str) -> None:
    pid = str(named_container.init_pid)
    result = nsenter(python, pid, "--", "hostname")
    assert (result.returncode, result.stdout, result.stderr) == (0, f"{HOSTNAME}\n", "")
    net = nsenter(python, pid, "--", "readlink", "/proc/self/ns/net").stdout.strip()
    assert net == f"net:[{named_container.namespaces['net']}]"
    inside = nsenter(python, pid, "--", "sh", "-c", "echo $$; cat /proc/1/cmdline").stdout.split("\n", 1)
    assert (
        int(inside[0]) not in named_container.nspids.values() and int(inside[0]) < 100
    )  # the container's numbering
    assert inside[1].startswith("sh\0-c\0hostname")  # its pid 1 is the container's init
    assert nsenter(python, pid, "--", "sh", "-c", "exit 7").returncode == 7
    assert nsenter(python, pid, "--", "sh", "-c", "kill -TERM $$").returncode == 128 + 15


def test_nsenter_leaves_no_descriptor_and_keeps_cwd(named_container: BareContainer) -> None:
    pid = str(named_container.init_pid)
    fds = nsenter(sys.executable, pid, "--", "ls", "/proc/self/fd").stdout.split()
    assert sorted(fds) == ["0", "1", "2", "3"]  # 3: the directory ls reads
    root = os.readlink(f"/proc/{pid}/cwd")
    assert nsenter(sys.executable, pid, "--", "pwd").stdout.strip() == root


def test_nsenter_default_shell_and_some_namespaces(named_container: BareContainer) -> None:
    pid = str(named_container.init_pid)
    result = nsenter(sys.executable, pid, stdin="hostname; exit 3\n")  # its shell, reading stdin
    assert (result.returncode, result.stdout) == (3, f"{HOSTNAME}\n")
    only_uts = nsenter(
        sys.executable, pid, "--ns", "uts", "--", "sh", "-c", "hostname; readlink /proc/self/ns/net"
    )
    assert only_uts.stdout.split() == [HOSTNAME, f"net:[{ns_inodes()['net']}]"]


def test_nsenter_errors(named_container: BareContainer) -> None:
    pid = str(named_container.init_pid)
    missing = nsenter(sys.executable, pid, "--", "/no/such/command")
    assert missing.returncode == 1
    assert (
        missing.stderr
        == "cgscope: cannot run /no/such/command in the target's namespaces: No such file or directory\n"
    )
    bad = nsenter(sys.executable, pid, "--ns", "net,bogus", "--", "true")
    assert bad.returncode == 1 and bad.stderr.startswith("cgscope: --ns 'net,bogus'")
    gone = nsenter(sys.executable, "4194304", "--", "true")
    assert gone.returncode == 1 and "no such process: 4194304" in gone.stderr


def test_nsenter_agrees_with_util_linux(named_container: BareContainer) -> None:
    if shutil.which("nsenter") is None:
        pytest.skip("needs util-linux nsenter")
    pid = str(named_container.init_pid)
    probe = "hostname; for t in cgroup ipc mnt net pid time user uts; do readlink /proc/self/ns/$t; done"
    ours = nsenter(sys.executable, pid, "--", "sh", "-c", probe)
    theirs = subprocess.run(
        ["nsenter", "-t", pid, "-a", "sh", "-c", probe], capture_output=True, text=True, check=False
    )
    assert ours.stdout == theirs.stdout and ours.returncode == 0


def test_no_cgroups_left_behind() -> None:
    assert [d for h in cgroup_hierarchies() for d in h.mountpoint.glob("cgscope-[0-9]*")] == []
