"""The one options table of `limit` (control/request.py): argparse, the dashboard's form, the journal's
command line, the "nothing to change" message and the writer's files all come from it; Docker's options
get a suggestion; values are ASCII digits with nothing around them."""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from controlfake import control_host, snapshot
from fakehost import Mode

from cgscope.cli import build_parser, main
from cgscope.control import paths, request
from cgscope.control.limits import plan_limit
from cgscope.control.request import LIMIT_OPTIONS, LimitRequest, parse_request
from cgscope.control.target import resolve
from cgscope.fs.hostroot import HostRoot
from cgscope.tui.actions import LIMIT_FIELDS, Selection, limit_command

# A value each option takes on the fixture hosts (target 400, alone in /box/inner below a half-CPU /box).
SAMPLES = {
    "cpu": "20%",
    "cpu_period": "50000",
    "cpu_weight": "50",
    "memory": "256M",
    "memory_swap": "512M",
    "pids": "10",
    "cpuset": "0",
    "io_weight": "200",
    "io_max": ["8:0:rbps=1M,wiops=100"],
    "into": "mine",
}
PLACING = {"cgroup.procs", "cgroup.subtree_control"}  # moving the target, enabling controllers


def test_the_table_and_the_request_name_the_same_options() -> None:
    assert [o.dest for o in LIMIT_OPTIONS] == [f.name for f in dataclasses.fields(LimitRequest)]
    assert set(SAMPLES) == {o.dest for o in LIMIT_OPTIONS}


def test_argparse_options_come_from_the_table() -> None:
    [commands] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    limit = commands.choices["limit"]
    flags = {a.option_strings[0]: a for a in limit._actions if a.option_strings and a.help != "==SUPPRESS=="}
    for option in LIMIT_OPTIONS:
        action = flags[option.flag]
        assert (action.dest, action.metavar) == (option.dest, option.metavar), option.flag
        assert action.help == option.help.replace("%", "%%")
    assert "--clear" in flags


def test_the_form_and_the_journal_line_come_from_the_table() -> None:
    assert [o.flag for o in LIMIT_FIELDS] == [o.flag for o in LIMIT_OPTIONS if o.form]
    selection = Selection("container", "web", 7, "container web")
    form = {"cpu": "20%", "memory": "", "pids": " ", "cpuset": "0-1"}
    assert limit_command(selection, form) == ["limit", "web", "--cpu", "20%", "--cpuset", "0-1"]


def test_nothing_to_change_names_every_limit_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["limit", "100"], out=io.StringIO()) == 1
    err = capsys.readouterr().err
    for option in LIMIT_OPTIONS:
        assert (option.flag in err) is (option.controller is not None), option.flag
    assert "--clear" in err


@pytest.mark.parametrize("mode", ["hybrid", "v2"])
def test_each_option_writes_only_the_files_its_entry_lists(tmp_path: Path, mode: Mode) -> None:
    """An option's entry says which files it writes; the writer accepts those (paths.WRITABLE)."""
    fake = control_host(tmp_path, mode)
    host = HostRoot.at(fake.root)
    target = resolve(host, "100" if mode == "v2" else "400")  # v2: a new cgroup, v1: in place
    for option in LIMIT_OPTIONS:
        if option.controller is None:
            continue
        given = {option.dest: SAMPLES[option.dest]}
        if option.dest == "memory_swap":
            given["memory"] = "256M"  # v2 counts swap above the memory limit
        plan = plan_limit(host, target, parse_request(clear=False, **given))
        written = {s.path.name for s in plan.steps if s.op == "write"} - PLACING
        others = {n for dest in given if dest != option.dest for n in request.OPTIONS[dest].files}
        assert written, option.flag
        assert written <= set(option.files) | others, (option.flag, written)
        assert written <= paths.WRITABLE


def test_journal_records_the_command_as_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    fake = control_host(tmp_path, "hybrid")
    argv = ["limit", "400", "--pids", "10", "--cpu-weight", "50", "--io-max", "8:0:rbps=1M"]
    assert main(["--root", str(fake.root), *argv], out=io.StringIO()) == 0
    data = json.loads((tmp_path / "state/journal.jsonl").read_text().splitlines()[0])
    assert data["command"] == [
        "limit",
        "400",
        "--cpu-weight",
        "50",
        "--pids",
        "10",
        "--io-max",
        "8:0:rbps=1M",
    ]


# -- Docker's options --------------------------------------------------------------------------------

DOCKER = [
    (["--cpus", "1"], "--cpus is Docker's option: did you mean --cpu 100%?"),
    (["--cpus=1.5"], "did you mean --cpu 150%?"),
    (["--cpus", "0.25"], "did you mean --cpu 25%?"),
    (["--cpus", "lots"], "did you mean --cpu N% (a share of one CPU: Docker's --cpus 1.5 is --cpu 150%)?"),
    (["--cpuset-cpus", "0-1"], "--cpuset-cpus is Docker's option: did you mean --cpuset 0-1?"),
    (["--pids-limit", "100"], "did you mean --pids 100?"),
    (["--pids-limit", "-1"], "did you mean --pids max?"),
    (["--cpu-shares", "512"], "did you mean --cpu-weight 50? (cpu.shares 512 = weight 50 * 1024 / 100)"),
    (["--cpu-shares", "1024"], "did you mean --cpu-weight 100?"),
    (["-m", "256m"], "-m is Docker's option: did you mean --memory 256m?"),
    (["-m256M"], "did you mean --memory 256M?"),
    (
        ["--memory-reservation", "1G"],
        "Docker's soft limit, which cgscope does not set: --memory sets a hard one",
    ),
    (["--blkio-weight", "300"], "did you mean --io-weight 300?"),
]


@pytest.mark.parametrize(("flags", "said"), DOCKER, ids=[" ".join(f) for f, _ in DOCKER])
def test_docker_options_get_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], said: str
) -> None:
    """`--cpus 1` was taken for `--cpuset 1` by argparse's abbreviations; now it says what to type."""
    fake = control_host(tmp_path, "hybrid")
    before = snapshot(fake.root)
    assert main(["--root", str(fake.root), "limit", "400", *flags], out=io.StringIO()) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("cgscope limit: ") and said in line, line
    assert snapshot(fake.root) == before


def test_prefixes_of_options_are_not_taken(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["limit", "400", "--cpuse", "1"], out=io.StringIO()) == 2
    assert "unrecognized arguments: --cpuse" in capsys.readouterr().err


# -- values ------------------------------------------------------------------------------------------


def test_a_huge_cpu_range_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    """Under a 512 MiB address space cap: expanding 0-99999999999 would need terabytes."""
    fake = control_host(tmp_path, "hybrid")
    probe = (
        "import resource, sys, io\n"
        "resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))\n"
        "from cgscope.cli import main\n"
        f"sys.exit(main(['--root', {str(fake.root)!r}, 'limit', '400', '--cpuset', '0-99999999999']))"
    )
    env = {**os.environ, "CGSCOPE_STATE": str(tmp_path / "state")}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        "cgscope: --cpuset 0-99999999999: CPU 99999999999 is beyond what any kernel numbers (0 to 8191)\n"
    )
