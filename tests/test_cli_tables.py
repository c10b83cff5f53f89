"""The one-shot commands as an SRE meets them: tables that fit an 80-column terminal, a STATE column, the
working set against the limit, the pid a container knows, the tree of any hierarchy with its
containers, notes said once, and the messages for a mistyped command or a missing terminal."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from controlfake import add_interface_files, control_host
from fakehost import FakeHost
from hosts import inventory
from hosts.dashboard import DOCKER_CG, DOCKER_ID, PODMAN_ID, dashboard_host

from cgscope.cli import main

NAMES = ("(host)", "db", "sh", "web")
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # rich's styles on a terminal


class Terminal(io.StringIO):
    """What a command writes to a terminal (its width is COLUMNS)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    return dashboard_host(tmp_path)


def run(host: FakeHost, *argv: str, out: io.StringIO | None = None) -> str:
    out = out if out is not None else io.StringIO()
    assert main(["--root", str(host.root), *argv], out=out) == 0
    return out.getvalue()


@pytest.mark.parametrize("argv", [["containers"], ["top", "-d", "0.1"]])
def test_at_80_columns_rows_stay_on_one_line_and_names_ids_whole(
    host: FakeHost, argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    lines = ANSI.sub("", run(host, *argv, out=Terminal())).splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if " NAME " in f" {line} ")
    assert header.rstrip().endswith("›")  # columns left out for want of width
    rows = [line.split() for line in lines if line.split()[:1] and line.split()[0].rstrip("*") in NAMES]
    assert sorted(r[0].rstrip("*") for r in rows) == ["(host)", "db", "sh", "web"]  # one line each
    web = next(r for r in rows if r[0] == "web")
    if argv[0] == "containers":
        assert header.split()[:5] == ["NAME", "RUNTIME", "STATE", "ID", "INIT"]
        assert web[:5] == ["web", "docker", "running", DOCKER_ID[:12], "530"]  # id and init whole
    else:
        assert header.split()[:4] == ["NAME", "RUNTIME", "STATE", "CPU%"]
    assert any("› more columns: " in line for line in lines)  # and which were left out
    monkeypatch.setenv("COLUMNS", "250")
    assert "›" not in run(host, *argv, out=Terminal())


def test_state_and_working_set_in_json(host: FakeHost) -> None:
    host.write(f"/sys/fs/cgroup{DOCKER_CG}/cgroup.events", "populated 1\nfrozen 1\n")
    containers = {c["id"]: c for c in json.loads(run(host, "containers", "--json"))["containers"]}
    assert containers[DOCKER_ID]["state"] == {"activity": "frozen", "runtime_paused": False}
    assert containers[PODMAN_ID]["state"] == {"activity": "running", "runtime_paused": None}
    top = {c["id"]: c for c in json.loads(run(host, "top", "--json", "-d", "0.1"))["containers"]}
    assert top[DOCKER_ID]["state"]["activity"] == "frozen"
    assert top[DOCKER_ID]["memory"]["usage_bytes"] == 200 * 1024 * 1024  # usage stays in JSON
    table = run(host, "top", "-d", "0.1")
    web = next(line.split() for line in table.splitlines() if line.startswith("web "))
    assert web[2] == "frozen" and "150M" in web and "200M" not in web  # the working set, not usage


def test_limit_memory_warns_against_the_working_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    h = control_host(tmp_path / "host", "v2")
    h.add_process(600, "web", cgroup="/system.slice/web.service")
    add_interface_files(h)
    h.write("/sys/fs/cgroup/system.slice/web.service/memory.current", f"{200 << 20}\n")
    h.write(
        "/sys/fs/cgroup/system.slice/web.service/memory.stat",
        f"anon {50 << 20}\nfile {150 << 20}\ninactive_file {100 << 20}\n",
    )
    plan = run(h, "limit", "600", "--memory", "150M", "--dry-run")  # above the 100M working set
    assert "warning" not in plan
    plan = run(h, "limit", "600", "--memory", "50M", "--dry-run")
    assert "below the 100M working set unified:/system.slice/web.service holds now" in plan


def test_the_pid_inside_is_null_outside_the_containers_pid_namespace(host: FakeHost) -> None:
    procs = {p["pid"]: p for p in json.loads(run(host, "ps", "1200", "--json"))["processes"]}
    assert procs[1200]["nspid"] is None  # `unshare` itself: in the host's pid namespace
    assert procs[1201]["nspid"] == 1
    rows = {line.split()[0]: line.split() for line in run(host, "ps", "1201").splitlines()[1:]}
    assert rows["1200"][1] == "-" and rows["1201"][1] == "1"


def test_tree_of_controllers_mounted_apart_names_the_containers(tmp_path: Path) -> None:
    h = inventory.hybrid_host(tmp_path)  # cpu and cpuacct mounted apart, as on this project's VM
    text = run(h, "tree", "-H", "cpu,cpuacct")
    assert "cpu (cgroup v1, /sys/fs/cgroup/cpu):" in text
    assert "cpuacct (cgroup v1, /sys/fs/cgroup/cpuacct):" in text
    docker = next(line for line in run(h, "tree", "-H", "name=systemd").splitlines() if "docker-" in line)
    assert docker.endswith("  api")  # the container whose cgroup it is


def test_the_uninspected_note_is_said_once_per_session_and_never_with_quiet(
    host: FakeHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    host.deny_ns(410, monkeypatch)
    # A session whose leader this test can see (its own process): under a supervisor whose session
    # leader is in another pid namespace getsid(2) answers 0, and the note is said every time.
    monkeypatch.setattr(os, "getsid", lambda pid: os.getpid())
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    run(host, "containers")
    assert "1 processes could not be inspected" in capsys.readouterr().err
    run(host, "containers")
    assert capsys.readouterr().err == ""  # the same terminal session: said already
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "other"))
    run(host, "--quiet", "containers")
    assert capsys.readouterr().err == ""
    records = list((tmp_path / "other").rglob("*"))
    assert records == []  # nothing said, nothing recorded


def test_the_uninspected_note_is_said_every_time_where_the_session_is_not_visible(
    host: FakeHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    host.deny_ns(410, monkeypatch)
    monkeypatch.setattr(os, "getsid", lambda pid: 0)  # the leader is in another pid namespace
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    for _ in range(2):
        run(host, "containers")
        assert "1 processes could not be inspected" in capsys.readouterr().err


def test_a_mistyped_command_or_choice_says_what_was_meant(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contaners"]) == 2
    assert "invalid choice: 'contaners': did you mean 'containers'?" in capsys.readouterr().err
    assert main(["ns", "-t", "ust"]) == 2
    assert "did you mean 'uts'?" in capsys.readouterr().err


def test_the_dashboard_refuses_without_a_terminal(host: FakeHost, capsys: pytest.CaptureFixture[str]) -> None:
    """As `cgscope > file` runs it: pytest captures stdout, which is then no terminal."""
    assert main(["--root", str(host.root)], out=io.StringIO()) == 1
    assert capsys.readouterr().err == (
        "cgscope: stdout is not a terminal: use `cgscope top` or `containers --json`\n"
    )


def test_state_from_the_v1_freezer_on_a_hybrid_host(tmp_path: Path) -> None:
    h = inventory.hybrid_host(tmp_path)
    [api] = [c for c in json.loads(run(h, "containers", "--json"))["containers"] if c["name"] == "api"]
    assert api["state"]["activity"] == "running"
    h.write(f"/sys/fs/cgroup/freezer{api['cgroup']['freezer']}/freezer.state", "FREEZING\n")
    [api] = [c for c in json.loads(run(h, "containers", "--json"))["containers"] if c["name"] == "api"]
    assert api["state"]["activity"] == "freezing"  # v1: not every task frozen yet
    h.write(f"/sys/fs/cgroup/freezer{api['cgroup']['freezer']}/freezer.state", "FROZEN\n")
    line = next(line for line in run(h, "containers").splitlines() if line.startswith("api "))
    assert line.split()[2] == "frozen"
