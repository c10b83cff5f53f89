"""limit, move, freeze, undo and nsenter on a pure cgroup v2 kernel: cpu.max, memory.max, pids.max,
cpuset.cpus with the controllers enabled in the parents' cgroup.subtree_control, cgroup.freeze, and the
kernel's refusals (EBUSY, EOPNOTSUPP, ESRCH) explained."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from live.containers import bare_container, kill_and_reap, wait_until

from cgscope.cli import main
from cgscope.control.errors import WriteFailed
from cgscope.control.plan import Step
from cgscope.control.writer import Writer
from cgscope.fs.hostroot import HostRoot


@pytest.fixture(autouse=True)
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    return tmp_path / "state" / "journal.jsonl"


def cgscope(*argv: str) -> str:
    out = io.StringIO()
    status = main(list(argv), out=out)
    assert status == 0, (argv, out.getvalue())
    return out.getvalue()


def cgroup_of(pid: int) -> str:
    return Path(f"/proc/{pid}/cgroup").read_text().strip().removeprefix("0::")


def cpu_percent(pid: int, seconds: float = 3.0) -> float:
    def ticks() -> int:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return int(fields[11]) + int(fields[12])

    t0, c0 = time.monotonic(), ticks()
    time.sleep(seconds)
    return (ticks() - c0) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - t0) * 100


def start(*argv: str, cgroup: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a process, in `cgroup` if given (it joins, then execs)."""
    if cgroup is None:
        return subprocess.Popen(list(argv))
    joined = f'echo $$ > {cgroup / "cgroup.procs"} && exec "$@"'
    proc = subprocess.Popen(["sh", "-c", joined, "sh", *argv])
    wait_until(lambda: str(proc.pid) in (cgroup / "cgroup.procs").read_text().split(), 5, "join")
    return proc


def test_limit_cpu_in_the_root_cgroup_then_undo(cgroup2_root: Path) -> None:
    loop = start("nice", "-n", "-10", "sh", "-c", "while :; do :; done")
    child = cgroup2_root / f"cgscope-{loop.pid}"
    try:
        assert cgroup_of(loop.pid) == "/"
        listing = sorted(os.listdir(cgroup2_root))
        cgscope("limit", str(loop.pid), "--cpu", "20%", "--dry-run")
        assert sorted(os.listdir(cgroup2_root)) == listing and cgroup_of(loop.pid) == "/"
        cgscope("limit", str(loop.pid), "--cpu", "20%")
        assert (child / "cpu.max").read_text() == "20000 100000\n"
        assert cgroup_of(loop.pid) == f"/cgscope-{loop.pid}"
        measured = [cpu_percent(loop.pid)]
        while not 17 <= measured[-1] <= 23 and len(measured) < 4:
            measured.append(cpu_percent(loop.pid))
        print(f"v2 busy loop limited to 20 %: {measured}")
        assert 17 <= measured[-1] <= 23, measured
        cgscope("undo")
        assert cgroup_of(loop.pid) == "/" and not child.exists()
    finally:
        kill_and_reap(loop)
        if child.exists():
            child.rmdir()


def test_memory_pids_cpuset_enable_the_parents_controllers(scratch_cgroup: Path) -> None:
    """The process is alone in scratch/leaf, and scratch passes no controller down: cgscope enables
    memory, pids and cpuset in scratch's cgroup.subtree_control, then writes the limits in the leaf."""
    leaf = scratch_cgroup / "leaf"
    leaf.mkdir()
    proc = start("sleep", "1000", cgroup=leaf)
    try:
        assert (scratch_cgroup / "cgroup.subtree_control").read_text().split() == []
        out = cgscope("limit", str(proc.pid), "--memory", "256M", "--pids", "50", "--cpuset", "1")
        assert f"enables cpuset in unified:/{scratch_cgroup.name}/cgroup.subtree_control" in out
        assert set((scratch_cgroup / "cgroup.subtree_control").read_text().split()) == {
            "memory",
            "pids",
            "cpuset",
        }
        assert (leaf / "memory.max").read_text() == "268435456\n"
        assert (leaf / "pids.max").read_text() == "50\n"
        assert (leaf / "cpuset.cpus").read_text() == "1\n"
        assert (leaf / "cpuset.cpus.effective").read_text() == "1\n"
        assert cgroup_of(proc.pid) == f"/{scratch_cgroup.name}/leaf"  # limited where it is

        out = cgscope("limit", str(proc.pid), "--memory", "512M", "--memory-swap", "768M", "--pids", "max")
        assert (leaf / "memory.swap.max").read_text() == "268435456\n"  # v2 counts swap alone
        cgscope("undo")
        assert (leaf / "memory.max").read_text() == "268435456\n"
        assert (leaf / "memory.swap.max").read_text() == "max\n"
        undone = cgscope("undo")
        # Controllers stay enabled while a cgroup below may use them (here: the leaf).
        assert "left +memory" in undone
        assert (leaf / "memory.max").read_text() == "max\n" and (leaf / "pids.max").read_text() == "max\n"
    finally:
        kill_and_reap(proc)
        leaf.rmdir()


def test_limit_in_a_new_cgroup_enables_nothing_at_the_root(cgroup2_root: Path) -> None:
    proc = start("sleep", "1000")
    child = cgroup2_root / f"cgscope-{proc.pid}"
    try:
        out = cgscope("limit", str(proc.pid), "--memory", "64M", "--pids", "10", "--cpuset", "0")
        assert "enables" not in out  # the lane's root enables every controller already
        assert [(child / f).read_text() for f in ("memory.max", "pids.max", "cpuset.cpus")] == [
            "67108864\n",
            "10\n",
            "0\n",
        ]
        cgscope("undo")
        assert not child.exists() and cgroup_of(proc.pid) == "/"
    finally:
        kill_and_reap(proc)
        if child.exists():
            child.rmdir()


def test_move_refusals_explain_the_kernel(scratch_cgroup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (scratch_cgroup / "inner").mkdir()
    (scratch_cgroup / "cgroup.subtree_control").write_text("+memory")
    (scratch_cgroup / "threads").mkdir()
    (scratch_cgroup / "threads" / "a").mkdir()
    (scratch_cgroup / "threads" / "b").mkdir()
    (scratch_cgroup / "threads" / "b" / "cgroup.type").write_text("threaded")  # leaves a "domain invalid"
    proc = start("sleep", "1000")
    host = HostRoot.live()
    try:
        # Refused before writing, with the kernel's rule.
        assert main(["move", str(proc.pid), f"/{scratch_cgroup.name}"], out=io.StringIO()) == 1
        assert "no-internal-process rule, EBUSY" in capsys.readouterr().err
        assert main(["move", str(proc.pid), f"/{scratch_cgroup.name}/threads/a"], out=io.StringIO()) == 1
        assert "'domain invalid'" in capsys.readouterr().err

        # The kernel's own answers, explained (the writer used without a plan's checks).
        unified = host.unified
        assert unified is not None

        def refused(pid: int, to: Path) -> str:
            step = Step(
                "move",
                "unified",
                unified.cgroup_path(to),
                to / "cgroup.procs",
                str(pid),
                pid=pid,
                source="/",
                source_path=unified.mountpoint / "cgroup.procs",
            )
            with pytest.raises(WriteFailed) as failed:
                Writer(host).apply([step])
            return str(failed.value)

        busy = refused(proc.pid, scratch_cgroup)
        assert "(EBUSY)" in busy and "no-internal-process rule" in busy
        assert "(EOPNOTSUPP)" in refused(proc.pid, scratch_cgroup / "threads" / "a")
        gone = start("true")
        gone.wait()
        assert f"process {gone.pid} has exited (ESRCH)" in refused(gone.pid, scratch_cgroup / "inner")
        assert cgroup_of(proc.pid) == "/"
    finally:
        kill_and_reap(proc)
        for d in ("threads/a", "threads/b", "threads", "inner"):
            (scratch_cgroup / d).rmdir()


def test_freeze_and_thaw_with_cgroup_freeze() -> None:
    with bare_container() as c:
        directory = c.cgroup.dirs[""]
        cgscope("freeze", str(c.init_pid))
        assert (directory / "cgroup.freeze").read_text() == "1\n"
        assert "frozen 1" in (directory / "cgroup.events").read_text()
        cgscope("thaw", str(c.init_pid))
        assert "frozen 0" in (directory / "cgroup.events").read_text()
        cgscope("undo")  # undoing the thaw freezes again
        assert "frozen 1" in (directory / "cgroup.events").read_text()
        cgscope("undo")
        assert "frozen 0" in (directory / "cgroup.events").read_text()


def test_nsenter_on_v2() -> None:
    with bare_container("hostname v2-inside; sleep 1000 & sleep 1000 & wait") as c:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "cgscope",
                "nsenter",
                str(c.init_pid),
                "--",
                "sh",
                "-c",
                "hostname; exit 4",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert (result.returncode, result.stdout) == (4, "v2-inside\n")
