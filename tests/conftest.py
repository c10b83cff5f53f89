"""What every test shares: notes said once per terminal session are recorded under $XDG_RUNTIME_DIR
(cgscope/commands/notes.py) — a directory of the test's own, never the user's, so that no test leaves
a record behind or finds one another left."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "runtime"
    directory.mkdir(mode=0o700)  # programs the tests run (ctr) make their temporary files there
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    return directory
