"""`kill PID [-s SIG]` through the control layer (fixture hosts: FixtureFiles records the signal, no
process gets it; live: only processes this test starts), and freezing what a runtime pauses itself."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from controlfake import FixtureFiles, add_interface_files, control_host, snapshot
from fakehost import FakeHost
from hosts.dashboard import DOCKER_CG, dashboard_host

from cgscope.cli import main
from cgscope.control.apply import apply
from cgscope.control.errors import InvalidRequest, WriteFailed
from cgscope.control.freeze import plan_freeze
from cgscope.control.journal import Journal
from cgscope.control.kill import parse_signal, plan_kill
from cgscope.control.undo import undo
from cgscope.errors import NotFound
from cgscope.fs.hostroot import HostRoot


@pytest.fixture
def fake(tmp_path: Path) -> FakeHost:
    return control_host(tmp_path, "hybrid")


@pytest.mark.parametrize(
    ("text", "name"),
    [("TERM", "TERM"), ("SIGKILL", "KILL"), ("hup", "HUP"), ("2", "INT"), ("19", "STOP"), ("18", "CONT")],
)
def test_signals_by_name_or_number(text: str, name: str) -> None:
    assert parse_signal(text) == name


@pytest.mark.parametrize(
    "text", ["USR1", "0", "15 ", "\u0661\u0665", "\u017figterm", "", "99999999999999999999", "-9"]
)
def test_other_signals_are_refused(text: str) -> None:
    with pytest.raises(InvalidRequest, match=r"cgscope sends TERM \(15\), KILL \(9\), HUP \(1\), INT \(2\)"):
        parse_signal(text)


@pytest.mark.parametrize(
    ("ref", "said"),
    [
        ("1", "process 1 is the host's init"),
        ("2", "kernel thread"),
        ("99999", "no such process: 99999"),
        ("\u0661\u0660\u0660", "is not a pid"),
        ("web", "is not a pid"),
    ],
)
def test_kill_refuses(fake: FakeHost, ref: str, said: str) -> None:
    with pytest.raises((InvalidRequest, NotFound), match=said):
        plan_kill(HostRoot.at(fake.root), ref, "TERM")


def test_kill_refuses_zombies_and_itself(fake: FakeHost) -> None:
    fake.add_process(600, "gone", state="Z")
    fake.add_process(os.getpid(), "cgscope", ["cgscope"])
    host = HostRoot.at(fake.root)
    with pytest.raises(InvalidRequest, match="zombie"):
        plan_kill(host, "600", "TERM")
    with pytest.raises(InvalidRequest, match="is cgscope itself"):
        plan_kill(host, str(os.getpid()), "TERM")


def test_kill_is_journaled_and_cannot_be_undone(fake: FakeHost, tmp_path: Path) -> None:
    host = HostRoot.at(fake.root)
    journal = Journal(tmp_path / "journal.jsonl")
    files = FixtureFiles(fake)
    before = snapshot(fake.root)
    plan = plan_kill(host, "100", "KILL")
    assert not plan.undoable and plan.notes[0].startswith("sends SIGKILL (9) to process 100")
    change = apply(host, plan, journal, command=["kill", "100", "-s", "KILL"], files=files)
    assert change is not None and (change.action, change.status, change.command) == (
        "kill", "applied", ("kill", "100", "-s", "KILL"),
    )  # fmt: skip
    assert files.calls == [("signal", "100", str(int(signal.SIGKILL)))]
    assert snapshot(fake.root) == before
    with pytest.raises(
        InvalidRequest, match=r"^change 1 sent SIGKILL to process 100: a signal cannot be undone$"
    ):
        undo(host, journal, change_id=1, files=files)
    with pytest.raises(NotFound, match="nothing to undo"):
        undo(host, journal, files=files)


def test_the_signal_goes_only_to_the_process_planned(fake: FakeHost, tmp_path: Path) -> None:
    host = HostRoot.at(fake.root)
    plan = plan_kill(host, "100", "TERM")
    fake.path("/proc/100").rename(fake.path("/proc/100-gone"))
    fake.add_process(100, "sh", ["a", "newer", "process"], start_ticks=9000)  # the pid was reused
    files = FixtureFiles(fake)
    journal = Journal(tmp_path / "journal.jsonl")
    with pytest.raises(WriteFailed, match=r"its pid names another process: nothing sent; nothing had been"):
        apply(host, plan, journal, files=files)
    assert files.calls == []
    assert journal.changes()[0].status == "rolled back"


def test_kill_in_history(fake: FakeHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    host = HostRoot.at(fake.root)
    apply(
        host,
        plan_kill(host, "100", "HUP"),
        Journal.default(),
        command=["kill", "100"],
        files=FixtureFiles(fake),
    )
    out = io.StringIO()
    assert main(["--root", str(fake.root), "history"], out=out) == 0
    row = " ".join(out.getvalue().splitlines()[1].split())
    assert "kill process 100 (sh) applied SIGHUP to process 100 (cannot be undone)" in row


@pytest.mark.parametrize("argv", [["--read-only", "kill", "1"], ["kill", "1", "--read-only"]])
def test_kill_is_refused_read_only(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv, out=io.StringIO()) == 1
    assert capsys.readouterr().err == (
        "cgscope: read-only (--read-only): kill would change the system, and is off\n"
    )


# -- live: a sleep this test starts ---------------------------------------------------------------------


def cgscope(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def state_of(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.mark.live
def test_live_kill_stop_and_cont(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    proc = subprocess.Popen(["sleep", "1000"])
    try:
        assert cgscope("kill", str(proc.pid), "-s", "STOP")[0] == 0
        deadline = time.monotonic() + 5
        while state_of(proc.pid) != "T":
            assert time.monotonic() < deadline, "not stopped"
            time.sleep(0.01)
        status, out = cgscope("kill", str(proc.pid), "-s", "CONT")
        assert status == 0 and "(a signal cannot be undone)" in out.splitlines()[0]
        host = HostRoot.live()
        plan = plan_kill(host, str(proc.pid), "KILL")
        [step] = plan.steps
        wrong = replace(plan, steps=(replace(step, start_ticks=(step.start_ticks or 0) + 1),))
        with pytest.raises(WriteFailed, match="nothing sent"):
            apply(host, wrong, Journal.default())
        assert proc.poll() is None  # the identity did not match: it got nothing
        assert cgscope("kill", str(proc.pid))[0] == 0
        assert proc.wait(timeout=10) == -signal.SIGTERM
        assert cgscope("kill", str(os.getpid()))[0] == 1  # cgscope itself
        assert cgscope("kill", "1")[0] == 1
        assert [c.action for c in Journal.default().changes()] == ["kill"] * 4
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- freezing what a runtime pauses itself --------------------------------------------------------------


@pytest.fixture
def runtimes(tmp_path: Path) -> FakeHost:
    h = dashboard_host(tmp_path / "host")
    h.write("/sys/devices/system/cpu/online", "0-3\n")
    add_interface_files(h)
    return h


def test_freezing_a_docker_container_warns_and_points_to_docker_pause(runtimes: FakeHost) -> None:
    plan = plan_freeze(HostRoot.at(runtimes.root), "web", True)
    assert plan.warnings == (
        "docker tracks pause itself and will not know web is frozen: 'docker pause web' pauses it the way "
        "docker sees",
    )
    assert "docker keeps its own paused state: it will still report web as it was" in plan.notes


def test_thawing_a_podman_container_points_to_podman_unpause(
    runtimes: FakeHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    frozen = next(runtimes.path("/sys/fs/cgroup/machine.slice").glob("libpod-*.scope")) / "cgroup.freeze"
    frozen.write_text("1\n")
    before = snapshot(runtimes.root)
    assert main(["--root", str(runtimes.root), "thaw", "db"], out=io.StringIO()) == 1  # asks first
    err = capsys.readouterr().err
    assert (
        "podman tracks pause itself: if 'podman pause' froze db, a thaw here leaves podman at Paused=true"
        in err
    )
    assert "use 'podman unpause db'; confirm on a terminal, or add --yes" in err
    assert snapshot(runtimes.root) == before


def test_a_freeze_the_kernel_refuses_changed_nothing(runtimes: FakeHost, tmp_path: Path) -> None:
    """As a non-root user: the write is refused (EACCES), and so would be any "restore"."""

    class Refusing(FixtureFiles):
        def write(self, path: Path, value: str) -> None:
            self.calls.append(("write", str(path.relative_to(self.host.root)), value))
            raise PermissionError(13, "Permission denied", str(path))

    host = HostRoot.at(runtimes.root)
    journal = Journal(tmp_path / "journal.jsonl")
    files = Refusing(runtimes)
    with pytest.raises(WriteFailed, match=r"permission denied \(EACCES\).*; nothing had been changed$"):
        apply(host, plan_freeze(host, "web", True), journal, confirmed=True, files=files)
    assert files.calls == [("write", f"sys/fs/cgroup{DOCKER_CG}/cgroup.freeze", "1")]
    assert [c.status for c in journal.changes()] == ["rolled back"]


def test_freeze_as_a_user_who_may_not_write_says_it_needs_root(runtimes: FakeHost, tmp_path: Path) -> None:
    host = HostRoot.at(runtimes.root)
    journal = Journal(tmp_path / "state" / "journal.jsonl")
    files = FixtureFiles(runtimes, unwritable={f"sys/fs/cgroup{DOCKER_CG}/cgroup.freeze"})
    with pytest.raises(
        InvalidRequest, match=r"^freeze needs root: .*cgroup.freeze is not writable for this user"
    ):
        apply(host, plan_freeze(host, "web", True), journal, confirmed=True, files=files)
    assert files.calls == [] and not journal.path.parent.exists()
