"""nsenter on a pure cgroup v2 kernel: the command joins the container's cgroup (the one hierarchy), a
frozen one (cgroup.freeze) is refused, and --keep-cgroup stays in the caller's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from live.containers import bare_container


def nsenter(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cgscope", "nsenter", *argv],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_nsenter_joins_the_container_cgroup_on_v2() -> None:
    with bare_container() as c:
        pid = str(c.init_pid)
        inside = nsenter(pid, "--", "cat", "/proc/self/cgroup")
        assert (inside.returncode, inside.stdout) == (0, f"0::{c.cgroup_path}\n"), inside.stderr
        kept = nsenter(pid, "--keep-cgroup", "--", "cat", "/proc/self/cgroup")
        assert kept.stdout == Path("/proc/self/cgroup").read_text()
        freeze = c.cgroup.dirs[""] / "cgroup.freeze"
        freeze.write_text("1\n")
        try:
            refused = nsenter(pid, "--", "true")
        finally:
            freeze.write_text("0\n")
        assert refused.returncode == 1
        assert refused.stderr.startswith(f"cgscope: unified:{c.cgroup_path} is frozen: ")
