"""A rate's identity on this kernel's cgroupfs: the counters' files kept open say which cgroup they were
read from without a stat (fs/files.file_identity), and a cgroup removed and made again under the same
path is told apart at the next sample: its rate is unknown for one refresh, never a fake 0."""

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from cgscope.fs import cgroup_cpu
from cgscope.fs.files import KeptFiles, file_identity, keeping
from cgscope.fs.hostroot import HostRoot
from cgscope.model.cgdirs import CgroupDirs, locate
from cgscope.model.derive import derive
from cgscope.model.usage import Sample, Sampler

from .conftest import require_root_and


@pytest.fixture
def made() -> Iterator[tuple[HostRoot, Path, CgroupDirs]]:
    """A cgroup of the test's own where CPU usage is counted (v1 cpuacct, else cgroup2), removed after."""
    require_root_and()
    host = HostRoot.live()
    mount = host.mount_for("cpuacct") or host.unified
    if mount is None:
        pytest.skip("no hierarchy counts CPU usage")
    path = f"/cgscope-test-identity-{secrets.token_hex(4)}"
    directory = mount.mountpoint / path.lstrip("/")
    directory.mkdir()
    try:
        yield host, directory, locate(host, {mount.key: path})
    finally:
        if directory.exists():
            directory.rmdir()


def test_a_cgroup_made_again_is_told_apart_by_its_kept_files(made: tuple[HostRoot, Path, CgroupDirs]) -> None:
    host, directory, dirs = made
    assert dirs.usage is not None and dirs.usage.directory == directory
    usage_file = cgroup_cpu.usage_file(directory, dirs.usage.version)
    sampler, files = Sampler(host), KeptFiles()

    def sample() -> Sample:
        with keeping(files):
            return sampler.cgroup(dirs)

    try:
        first, second = sample(), sample()
        st = os.stat(usage_file)
        assert first.identity == second.identity == ((st.st_dev, st.st_ino),)
        with keeping(files):  # kept open: the identity as opened, the file still there
            assert file_identity(usage_file) == first.identity[0]
        known = derive(first, second, 1.0).cpu
        assert known is not None and known.host_percent == 0.0
        directory.rmdir()
        directory.mkdir()
        again = sample()  # the kept descriptor answers ENODEV: the path opened again, a new file
        st = os.stat(usage_file)
        assert again.identity == ((st.st_dev, st.st_ino),) != second.identity
        unknown = derive(second, again, 1.0).cpu
        assert unknown is not None and unknown.host_percent is None
        right = derive(again, sample(), 1.0).cpu
        assert right is not None and right.host_percent == 0.0
    finally:
        files.close()
