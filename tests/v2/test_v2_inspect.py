"""On a pure cgroup v2 kernel: `inspect` and `diff` on the overlay mini container, its cgroup in the one
hierarchy (the guest's root is itself an overlay, so the layers live on a tmpfs of their own)."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import run_json
from live.containers import RUNC_BUSYBOX, is_static_elf
from live.overlay_container import overlay_container


@pytest.fixture
def tmpfs() -> Iterator[Path]:
    if not is_static_elf(RUNC_BUSYBOX):
        pytest.skip("needs busybox-static")
    where = Path(tempfile.mkdtemp(prefix="cgscope-test-"))
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)
        where.rmdir()


def test_overlay_container_on_v2(tmpfs: Path) -> None:
    with overlay_container("sleep 0.1 & read x", own_cgroup=True, parent=tmpfs) as oc:
        oc.exec("echo new > /data/added && rm /data/deleted && rm -rf /olddir && mkdir /olddir")
        changes = [
            (c["kind"], c["path"], c["replaced"]) for c in run_json("diff", str(oc.init_pid))["changes"]
        ]
        assert changes == [
            ("C", "/data", False),
            ("A", "/data/added", False),
            ("D", "/data/deleted", False),
            ("C", "/olddir", True),
            ("D", "/olddir/a", False),
            ("D", "/olddir/b", False),
        ]
        data = run_json("inspect", str(oc.init_pid))
        assert [x["role"] for x in data["rootfs"]["layers"]] == ["container", "init", "image"]
        lc = data["lifecycle"]
        assert oc.cgroup is not None and lc["cgroup"] == oc.cgroup.path
        assert [(o["pid"], o["namespaces"]) for o in lc["outsiders"]] == [(oc.unshare_pid, ["pid"])]
