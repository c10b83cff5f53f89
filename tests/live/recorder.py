"""What the recorder's live tests share: `cgscope record` as a subprocess, its stderr in a file, and a small
tmpfs of the test's own (unmounted in a finally)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .containers import PREFIX, kill_and_reap, wait_until


@dataclass
class Recording:
    proc: subprocess.Popen[bytes]
    store: Path
    stderr: Path

    def said(self) -> str:
        return self.stderr.read_text(errors="replace")

    def wait_said(self, text: str, timeout: float = 15.0) -> None:
        wait_until(lambda: text in self.said() or None, timeout, f"the recorder to say {text!r}")

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; its exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(10)


@contextlib.contextmanager
def recording(store: Path, interval: float, state: Path) -> Iterator[Recording]:
    """`cgscope record --interval INTERVAL --dir STORE`, CGSCOPE_STATE=STATE; killed at the end if it
    still runs."""
    err = state / f"record-{time.monotonic_ns()}.err"
    env = {**os.environ, "CGSCOPE_STATE": str(state)}
    with err.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cgscope", "record", "--interval", str(interval), "--dir", str(store)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=out,
            env=env,
        )
    try:
        yield Recording(proc, store, err)
    finally:
        if proc.poll() is None:
            kill_and_reap(proc)


@contextlib.contextmanager
def small_tmpfs(size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted on a directory of the test's own."""
    where = Path(tempfile.mkdtemp(prefix=PREFIX))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", PREFIX + "tmpfs", str(where)],
                   check=True)  # fmt: skip
    try:
        yield where
    finally:
        for _ in range(50):  # the recorder may still hold a file of it for an instant
            if subprocess.run(["umount", str(where)], capture_output=True, check=False).returncode == 0:
                break
            time.sleep(0.1)
        where.rmdir()


def remount(where: Path, mode: str) -> None:
    """`mount -o remount,MODE`; retried while a write of the recorder holds the filesystem busy."""
    for _ in range(50):
        argv = ["mount", "-o", f"remount,{mode}", str(where)]
        done = subprocess.run(argv, capture_output=True, check=False)
        if done.returncode == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"cannot remount {where} {mode}: {done.stderr.decode()}")
