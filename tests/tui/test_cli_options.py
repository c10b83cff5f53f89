"""`cgscope` with no command passes -d/--delay and --read-only to the dashboard; bad values exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakehost import FakeHost

import cgscope.tui.app
from cgscope.cli import main


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, float, bool]]:
    calls: list[tuple[Path, float, bool]] = []

    def run_dashboard(root: Path, *, interval: float, read_only: bool) -> int:
        calls.append((root, interval, read_only))
        return 0

    monkeypatch.setattr(cgscope.tui.app, "run_dashboard", run_dashboard)
    return calls


def test_defaults(opened: list[tuple[Path, float, bool]]) -> None:
    assert main([]) == 0
    assert opened == [(Path("/"), 2.0, False)]


def test_delay_and_read_only(opened: list[tuple[Path, float, bool]]) -> None:
    assert main(["-d", "0.5", "--read-only"]) == 0
    assert main(["--delay", "10"]) == 0
    assert opened == [(Path("/"), 0.5, True), (Path("/"), 10.0, False)]


@pytest.mark.parametrize("value", ["0", "-1", "soon", "3601"])
def test_a_bad_delay_is_a_usage_error(
    value: str, opened: list[tuple[Path, float, bool]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-d", value]) == 2
    assert "is not a number of seconds between 0.1 and 3600" in capsys.readouterr().err
    assert opened == []


def test_no_cgroups_is_one_line_and_status_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    host = FakeHost(tmp_path, "v2")
    host.write("/proc/self/mountinfo", "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n")
    assert main(["--root", str(host.root)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cgscope: no cgroup hierarchy is mounted") and err.count("\n") == 1
