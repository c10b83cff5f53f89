"""A mount point that is not UTF-8 (an unprivileged user's FUSE mount, a USB stick's label) stops no
command: cgscope runs inside a private mount namespace of the test's own, where a tmpfs is mounted at
such a path. Nothing is mounted in the host's namespace; the namespace and its mount end with the shell."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .conftest import require_root_and
from .containers import PREFIX

# Not UTF-8, with a space, a newline and an escape sequence, which mountinfo octal-escapes or keeps raw.
ODD_NAME = PREFIX.encode() + b"\xff\xfe label \x1b[31m\nend"
COMMANDS = (
    "containers --json",
    "ps --json",
    "ns --json",
    "tree --json",
    "top --json -d 0.1",
    "containers",
    "ps",
    "ns",
    "tree",
    "inspect $$",
    "inspect $$ --json",
)
SCRIPT = """
set -e
mount -t tmpfs -o size=64k "$SOURCE" "$ODD"
grep -c -F " - tmpfs $SOURCE " /proc/self/mountinfo
for command in {commands}; do
    "$PY" -m cgscope $command > "$OUT" || {{ echo "cgscope $command failed" >&2; exit 1; }}
    test -s "$OUT"
done
"""


def test_commands_inside_a_namespace_with_a_mount_point_that_is_not_utf8() -> None:
    require_root_and("unshare", "mount")
    top = Path(tempfile.mkdtemp(prefix=PREFIX))
    odd = os.path.join(os.fsencode(top), ODD_NAME)
    os.mkdir(odd)
    source = f"{PREFIX}{secrets.token_hex(4)}"  # this run's own: a mount another test left has another name
    try:
        commands = " ".join(f'"{c}"' for c in COMMANDS)
        env = {
            **os.environ,
            "ODD": os.fsdecode(odd),
            "PY": sys.executable,
            "OUT": str(top / "out"),
            "SOURCE": source,
        }
        result = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", SCRIPT.format(commands=commands)],
            env=env,
            capture_output=True,
            check=False,
            cwd=top,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr.decode(errors="backslashreplace")
        assert int(result.stdout) >= 1  # the tmpfs was mounted in that namespace...
        assert f" {source} ".encode() not in Path("/proc/self/mountinfo").read_bytes()  # ...not in the host's
    finally:
        shutil.rmtree(top)
