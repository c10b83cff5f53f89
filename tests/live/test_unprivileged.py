"""As an unprivileged user cgscope reads what it may and shows the rest as unknown: no traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .containers import TestCgroup, cgroup_hierarchies, create_test_cgroup, kill_and_reap, wait_until
from .nobody import NOBODY, run_as_nobody


def test_pid1_namespaces_are_unknown_not_an_error() -> None:
    result = run_as_nobody("ps", "1", "--json")
    assert result.returncode == 0, result.stderr
    [init] = json.loads(result.stdout)["processes"]
    assert init["pid"] == 1
    assert set(init["namespaces"].values()) == {None}


def test_every_command_runs_unprivileged() -> None:
    for argv in (["containers"], ["containers", "--json"], ["ns"], ["ps"], ["tree"]):
        result = run_as_nobody(*argv)
        assert result.returncode == 0, (argv, result.stderr)
        assert "Traceback" not in result.stderr, argv
    note = run_as_nobody("containers").stderr
    assert "could not be inspected (permission denied)" in note


# -- changes as a user who may not make them --------------------------------------------------------


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory any user may enter (pytest's tmp_path is root's alone), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="cgscope-test-"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        shutil.rmtree(path)


@pytest.fixture
def sleeper() -> Iterator[tuple[int, TestCgroup]]:
    """A sleep alone in test cgroups of the pids and freezer hierarchies."""
    wanted = [h for h in cgroup_hierarchies() if h.key in ("pids", "freezer") and h.version == 1]
    if len(wanted) != 2 or os.geteuid() != 0:
        pytest.skip("needs root and cgroup v1 pids and freezer hierarchies (this project's VM)")
    cg = create_test_cgroup(hierarchies=wanted)
    joins = "".join(f"echo $$ > {f} && " for f in cg.procs_files())
    proc = subprocess.Popen(["sh", "-c", f"{joins}exec sleep 1000"])
    try:
        wait_until(lambda: all(str(proc.pid) in f.read_text().split() for f in cg.procs_files()), 5, "join")
        yield proc.pid, cg
    finally:
        kill_and_reap(proc)
        cg.remove()


def test_limit_as_a_user_says_it_needs_root_and_journals_nothing(
    sleeper: tuple[int, TestCgroup], open_dir: Path
) -> None:
    pid, cg = sleeper
    state = open_dir / "state"  # the user may not make it: the journal's path must not be the first error
    result = run_as_nobody("limit", str(pid), "--pids", "10", env={"CGSCOPE_STATE": str(state)})
    assert result.returncode == 1
    assert result.stderr == (
        f"cgscope: limit needs root: {cg.dirs['pids']}/pids.max is not writable for this user "
        "(permission denied); nothing changed\n"
    )
    assert (cg.dirs["pids"] / "pids.max").read_text() == "max\n" and not state.exists()


def test_undo_as_a_user_is_refused_and_changes_nothing(
    sleeper: tuple[int, TestCgroup], open_dir: Path
) -> None:
    """A journal the user may write, of a change root made: undo refuses, writing nothing there either."""
    pid, cg = sleeper
    env = {**os.environ, "CGSCOPE_STATE": str(open_dir)}
    made = subprocess.run(
        [sys.executable, "-m", "cgscope", "limit", str(pid), "--pids", "10"],
        env=env,
        capture_output=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    journal = open_dir / "journal.jsonl"
    os.chown(journal, NOBODY, NOBODY)
    os.chown(open_dir, NOBODY, NOBODY)
    recorded = journal.read_bytes()
    result = run_as_nobody("undo", env={"CGSCOPE_STATE": str(open_dir)})
    assert result.returncode == 1
    assert result.stderr == (
        f"cgscope: undoing change 1 needs root: {cg.dirs['pids']}/pids.max is not writable for this user "
        "(permission denied); nothing changed\n"
    )
    assert journal.read_bytes() == recorded
    assert (cg.dirs["pids"] / "pids.max").read_text() == "10\n"
    undone = subprocess.run(
        [sys.executable, "-m", "cgscope", "undo"], env=env, capture_output=True, check=False
    )
    assert undone.returncode == 0, undone.stderr
    assert (cg.dirs["pids"] / "pids.max").read_text() == "max\n"
