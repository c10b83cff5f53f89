"""inspect, diff and procview refuse what is not a process to look into: a kernel thread (no namespaces
of its own, no rootfs, no /proc view) and a zombie (proc(5) keeps only its exit status), each with one
line that says why."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fakehost import FakeHost

from cgscope.cli import main


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    h = FakeHost(tmp_path, "v2")
    h.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup="/init.scope")
    h.add_process(2, "kthreadd", ppid=0, kernel_thread=True)
    h.add_process(4321, "worker", ppid=1, state="Z", cgroup="/init.scope")
    return h


def run(host: FakeHost, *argv: str) -> int:
    return main(["--root", str(host.root), *argv], out=io.StringIO())


@pytest.mark.parametrize("command", ["inspect", "diff", "procview"])
def test_a_kernel_thread_is_refused(host: FakeHost, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(host, command, "2") == 1
    assert capsys.readouterr().err == (
        f"cgscope: process 2 ([kthreadd]) is a kernel thread: {command} works on user processes and "
        "containers\n"
    )


@pytest.mark.parametrize("command", ["inspect", "diff", "procview"])
def test_a_zombie_is_said_to_have_exited(
    host: FakeHost, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(host, command, "4321") == 1
    assert capsys.readouterr().err == (
        "cgscope: process 4321 (worker) has exited (a zombie its parent 1 has not reaped): nothing left "
        f"for {command}\n"
    )
