"""What every test shares: notes said once per terminal session are recorded under $XDG_RUNTIME_DIR
(cgscope/commands/notes.py) — a directory of the test's own, never the user's, so that no test leaves
a record behind or finds one another left; and the Docker host of hosts/docker_detail.py as a
fixture."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakehost import FakeHost
from hosts.docker_detail import docker_detail_host


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Beside the test's tmp_path, not in it: tests that walk tmp_path find only what they put there.
    # It exists, as a login's does: programs the tests run (ctr) make their temporary files there.
    directory = tmp_path_factory.mktemp("runtime")
    directory.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    return directory


@pytest.fixture
def docker_host(tmp_path: Path) -> FakeHost:
    """hosts/docker_detail.py's host: one Docker container on overlay2, with what inspect and diff read."""
    return docker_detail_host(tmp_path)
