"""Fixtures that run real containers. Tests using them are marked ``live`` automatically."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import containers, runtimes
from .containers import BareContainer, RuncContainer
from .tmux import Tmux

LIVE_FIXTURES = {"bare_container", "runc_container", "needs_unshare", "needs_runc"}
HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before -m selection runs
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        in_here = HERE in item.path.parents
        if in_here or LIVE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.live)


def require_root_and(*binaries: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("live test needs root (creates namespaces and cgroups)")
    missing = [b for b in binaries if shutil.which(b) is None]
    if missing:
        pytest.skip(f"live test needs {', '.join(missing)} on PATH")
    if not containers.cgroup_hierarchies():
        pytest.skip("no cgroup hierarchy mounted")


@pytest.fixture
def needs_unshare() -> None:
    """Skips unless root with unshare(1) and mounted cgroups."""
    require_root_and("unshare")


@pytest.fixture
def needs_runc() -> None:
    """Skips unless root with runc and a static busybox to build a rootfs from."""
    require_root_and("runc")
    busybox = containers.RUNC_BUSYBOX
    if not (busybox.is_file() and containers.is_static_elf(busybox)):
        pytest.skip(f"runc test needs a statically linked {busybox} (Debian package busybox-static)")


@pytest.fixture
def bare_container(needs_unshare: None) -> Iterator[BareContainer]:
    """``unshare --pid --fork --mount-proc --uts --ipc --net sh -c 'sleep 1000 & sleep 1000 & wait'``
    in its own cgroup ``/cgscope-test-<hex>`` in every hierarchy: init plus two sleeps."""
    with containers.bare_container() as container:
        yield container


@pytest.fixture
def runc_container(needs_runc: None) -> Iterator[RuncContainer]:
    """A detached runc container (busybox rootfs) running ``sh -c 'sleep 1000 & sleep 1000 & wait'``
    with ``linux.cgroupsPath`` ``/<id>``: init plus two sleeps."""
    with containers.runc_container() as container:
        yield container


@pytest.fixture(scope="session")
def docker() -> runtimes.Docker:
    """The lane's dockerd (.ci/runtimes.sh), or a skip saying why there is none."""
    lane = runtimes.require_lane("CGSCOPE_TEST_DOCKER", "CGSCOPE_TEST_IMAGE")
    if shutil.which("docker") is None:
        pytest.skip("no docker client on PATH (Debian package docker.io)")
    if not runtimes.answers(["docker", "-H", lane["CGSCOPE_TEST_DOCKER"], "version"]):
        pytest.skip(f"no dockerd answers at {lane['CGSCOPE_TEST_DOCKER']} ({runtimes.LANE_HELP})")
    return runtimes.Docker(lane["CGSCOPE_TEST_DOCKER"], lane["CGSCOPE_TEST_IMAGE"])


@pytest.fixture(scope="session")
def ctr() -> runtimes.Ctr:
    """The lane's containerd (.ci/runtimes.sh), in the lane's namespace, or a skip saying why not."""
    lane = runtimes.require_lane(
        "CGSCOPE_TEST_CONTAINERD", "CGSCOPE_TEST_CTR_NAMESPACE", "CGSCOPE_TEST_CTR_IMAGE"
    )
    address = lane["CGSCOPE_TEST_CONTAINERD"]
    if shutil.which("ctr") is None:
        pytest.skip("no ctr on PATH (Debian package containerd)")
    if not runtimes.answers(["ctr", "-a", address, "version"]):
        pytest.skip(f"no containerd answers at {address} ({runtimes.LANE_HELP})")
    return runtimes.Ctr(address, lane["CGSCOPE_TEST_CTR_NAMESPACE"], lane["CGSCOPE_TEST_CTR_IMAGE"])


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    """A tmux server of the test's own (its socket under tmp_path), killed however the test ends."""
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux (Debian package tmux)")
    t = Tmux(tmp_path / containers.unique_name())
    try:
        yield t
    finally:
        subprocess.run(["tmux", "-S", str(t.socket), "kill-server"], capture_output=True, check=False)
