"""A real terminal for the tests: a tmux server of the test's own, and the installed console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def installed_cgscope() -> str:
    beside = Path(sys.executable).parent / "cgscope"
    found = str(beside) if beside.is_file() else shutil.which("cgscope")
    if found is None:
        pytest.skip("the cgscope console script is not installed")
    return found


ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "xterm-256color", "LC_ALL": "C.UTF-8"}


class Tmux:
    """A tmux server of its own (its socket in a directory of the test's), so nothing else's sessions
    are touched and nothing is left behind."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
            env=ENV,  # the server passes its environment on: no COLUMNS or LINES from the test run
        )
        return done.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "dash")
