"""All or nothing: a step that fails leaves every file as it was before the change began, on fixture
trees (v1 and v2, in place and in a cgroup made for the target) and on this machine's kernel."""

from __future__ import annotations

import dataclasses
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from controlfake import FixtureFiles, control_host, snapshot
from live.containers import Hierarchy, TestCgroup, cgroup_hierarchies, create_test_cgroup, kill_and_reap

from cgscope.control.apply import apply
from cgscope.control.errors import WriteFailed
from cgscope.control.files import CgroupFiles
from cgscope.control.journal import Journal
from cgscope.control.limits import plan_limit
from cgscope.control.plan import Plan
from cgscope.control.request import parse_request
from cgscope.control.target import resolve
from cgscope.control.undo import undo
from cgscope.fs.hostroot import HostRoot


def three_writes(host: HostRoot, ref: str) -> Plan:
    return plan_limit(host, resolve(host, ref), parse_request(cpu="50%", memory="256M", pids="100"))


def test_v1_in_place_second_write_fails(tmp_path: Path) -> None:
    fake = control_host(tmp_path, "hybrid")
    host = HostRoot.at(fake.root)
    plan = three_writes(host, "400")  # alone in /box/inner: its own cgroups are written in place
    assert [(s.op, s.path.name) for s in plan.steps] == [
        ("write", "cpu.cfs_quota_us"),
        ("write", "memory.limit_in_bytes"),
        ("write", "pids.max"),
    ]
    before = snapshot(fake.root)
    files = FixtureFiles(fake, fail_on=2)
    journal = Journal(tmp_path / "state" / "journal.jsonl")
    with pytest.raises(WriteFailed, match="rolled back the 1 earlier step") as failed:
        apply(host, plan, journal, files=files)
    assert "memory.limit_in_bytes (EINVAL)" in str(failed.value)
    assert snapshot(fake.root) == before
    quota = "sys/fs/cgroup/cpu/box/inner/cpu.cfs_quota_us"
    assert files.calls == [
        ("write", quota, "50000"),
        ("write", "sys/fs/cgroup/memory/box/inner/memory.limit_in_bytes", "268435456"),
        ("write", quota, "-1"),  # the rollback
    ]
    [change] = journal.changes()
    assert (change.status, change.error) == ("rolled back", str(failed.value))
    assert [s.old for s in change.steps] == ["-1", "9223372036854771712", "max"]


def test_v2_new_cgroup_second_write_fails(tmp_path: Path) -> None:
    fake = control_host(tmp_path, "v2")
    host = HostRoot.at(fake.root)
    plan = three_writes(host, "100")  # in the root cgroup: a cgroup is made for it
    assert [(s.op, s.path.name) for s in plan.steps] == [
        ("mkdir", "cgscope-100"),
        ("write", "cpu.max"),
        ("write", "memory.max"),
        ("write", "pids.max"),
        ("move", "cgroup.procs"),
    ]
    before = snapshot(fake.root)
    files = FixtureFiles(fake, fail_on=2)
    with pytest.raises(WriteFailed, match="rolled back the 2 earlier step"):
        apply(host, plan, Journal(tmp_path / "journal.jsonl"), files=files)
    assert snapshot(fake.root) == before
    assert files.calls[-1] == ("rmdir", "sys/fs/cgroup/cgscope-100", "")


def test_failed_move_undoes_the_limits(tmp_path: Path) -> None:
    fake = control_host(tmp_path, "v2")
    host = HostRoot.at(fake.root)
    plan = three_writes(host, "100")
    before = snapshot(fake.root)
    files = FixtureFiles(fake, fail_on=4, errno_=errno.ESRCH)  # the process exits before it moves
    with pytest.raises(WriteFailed, match=r"process 100 has exited \(ESRCH\)"):
        apply(host, plan, Journal(tmp_path / "journal.jsonl"), files=files)
    assert snapshot(fake.root) == before


class FailingRestore(FixtureFiles):
    """The second write fails, and so does putting the first one back."""

    def write(self, path: Path, value: str) -> None:
        if self.writes == 2:
            self.writes += 1
            raise OSError(errno.EIO, "I/O error", str(path))
        super().write(path, value)


def test_incomplete_rollback_is_undone_later(tmp_path: Path) -> None:
    fake = control_host(tmp_path, "hybrid")
    host = HostRoot.at(fake.root)
    before = snapshot(fake.root)
    journal = Journal(tmp_path / "journal.jsonl")
    with pytest.raises(WriteFailed, match="rollback incomplete: restoring") as failed:
        apply(host, three_writes(host, "400"), journal, files=FailingRestore(fake, fail_on=2))
    assert not failed.value.rolled_back
    assert snapshot(fake.root) != before  # the quota stayed
    assert journal.changes()[0].status == "incomplete"
    [undone] = undo(host, journal, files=FixtureFiles(fake))
    assert undone.problems == ()
    assert snapshot(fake.root) == before
    assert journal.changes()[0].status == "undone"


class Crash(FixtureFiles):
    def write(self, path: Path, value: str) -> None:
        super().write(path, value)
        if self.writes == 2:
            raise SystemExit("killed")  # cgscope dies between two writes: no rollback runs


def test_undo_after_a_crash(tmp_path: Path) -> None:
    fake = control_host(tmp_path, "hybrid")
    host = HostRoot.at(fake.root)
    before = snapshot(fake.root)
    journal = Journal(tmp_path / "journal.jsonl")
    with pytest.raises(SystemExit):
        apply(host, three_writes(host, "400"), journal, files=Crash(fake))
    [change] = journal.changes()
    assert change.status == "incomplete" and change.written == (True, None, False)  # killed in step 2
    assert change.after == ("50000", None, None)
    undo(host, journal, files=FixtureFiles(fake))
    assert snapshot(fake.root) == before


# -- this machine's kernel ---------------------------------------------------------------------------


@pytest.fixture
def alone_in_test_cgroups() -> Iterator[tuple[int, TestCgroup]]:
    """A sleep alone in new cgroups cgscope-test-<hex> of the cpu, memory and pids hierarchies."""
    if os.geteuid() != 0:
        pytest.skip("needs root: writes real cgroups")
    wanted: list[Hierarchy] = [h for h in cgroup_hierarchies() if h.key in ("cpu", "memory", "pids")]
    if len(wanted) != 3:
        pytest.skip("needs separate cgroup v1 cpu, memory and pids hierarchies (this project's VM)")
    cg = create_test_cgroup(hierarchies=wanted)
    joins = "".join(f"echo $$ > {f} && " for f in cg.procs_files())
    proc = subprocess.Popen(["sh", "-c", f"{joins}exec sleep 1000"])
    try:
        for f in cg.procs_files():
            for _ in range(500):
                if str(proc.pid) in f.read_text().split():
                    break
                subprocess.run(["sleep", "0.01"], check=True)
        yield proc.pid, cg
    finally:
        kill_and_reap(proc)
        cg.remove()


def values(cg: TestCgroup) -> dict[str, str]:
    names = {"cpu": "cpu.cfs_quota_us", "memory": "memory.limit_in_bytes", "pids": "pids.max"}
    return {key: (d / names[key]).read_text() for key, d in cg.dirs.items()}


@pytest.mark.live
def test_live_second_write_fails(alone_in_test_cgroups: tuple[int, TestCgroup], tmp_path: Path) -> None:
    pid, cg = alone_in_test_cgroups
    host = HostRoot.live()
    plan = three_writes(host, str(pid))
    assert [s.path.parent for s in plan.steps] == [cg.dirs["cpu"], cg.dirs["memory"], cg.dirs["pids"]]
    before = values(cg)

    class Failing(CgroupFiles):
        count = 0

        def write(self, path: Path, value: str) -> None:
            self.count += 1
            if self.count == 2:
                raise OSError(errno.EIO, "I/O error", str(path))
            super().write(path, value)

    with pytest.raises(WriteFailed, match="rolled back the 1 earlier step"):
        apply(host, plan, Journal(tmp_path / "journal.jsonl"), files=Failing())
    assert values(cg) == before


@pytest.mark.live
def test_live_kernel_refuses_the_second_write(
    alone_in_test_cgroups: tuple[int, TestCgroup], tmp_path: Path
) -> None:
    """The kernel's own refusal (EINVAL for a memory limit it cannot parse) rolls back the quota."""
    pid, cg = alone_in_test_cgroups
    host = HostRoot.live()
    plan = three_writes(host, str(pid))
    steps = list(plan.steps)
    steps[1] = dataclasses.replace(steps[1], value="lots")
    before = values(cg)
    journal = Journal(tmp_path / "journal.jsonl")
    with pytest.raises(WriteFailed, match=r"memory.limit_in_bytes \(EINVAL\): not a size"):
        apply(host, dataclasses.replace(plan, steps=tuple(steps)), journal)
    assert values(cg) == before
    assert journal.changes()[0].status == "rolled back"
