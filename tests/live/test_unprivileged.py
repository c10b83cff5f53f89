"""As an unprivileged user cgscope reads what it may and shows the rest as unknown: no traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import cgscope

REPO = Path(cgscope.__file__).resolve().parent.parent
SYSTEM_PYTHON = Path("/usr/bin/python3")  # readable by every user, unlike a root-owned virtualenv
NOBODY = 65534


def run_as_nobody(*argv: str) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0 or shutil.which("setpriv") is None or not SYSTEM_PYTHON.exists():
        pytest.skip("needs root, setpriv(1) and /usr/bin/python3 to drop to an unprivileged user")
    probe = [str(SYSTEM_PYTHON), "-c", "import sys; assert sys.version_info >= (3, 11)"]
    if subprocess.run(probe, check=False).returncode != 0:
        pytest.skip("/usr/bin/python3 is older than 3.11")
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    check = subprocess.run([*drop, "test", "-r", str(REPO / "cgscope/cli.py")], check=False)
    if check.returncode != 0:
        pytest.skip(f"{REPO} is not readable by an unprivileged user")
    return subprocess.run(
        [*drop, "env", f"PYTHONPATH={REPO}", str(SYSTEM_PYTHON), "-m", "cgscope", *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )


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
