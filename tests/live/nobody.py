"""cgscope run as an unprivileged user (nobody, by setpriv), from the system python."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

import cgscope

REPO = Path(cgscope.__file__).resolve().parent.parent


SYSTEM_PYTHON = Path("/usr/bin/python3")  # readable by every user, unlike a root-owned virtualenv


NOBODY = 65534


def run_as_nobody(*argv: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
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
        [
            *drop,
            "env",
            f"PYTHONPATH={REPO}",
            *(f"{k}={v}" for k, v in (env or {}).items()),
            str(SYSTEM_PYTHON),
            "-m",
            "cgscope",
            *argv,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
