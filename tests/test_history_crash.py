"""kill -9 of a writer at 50 random moments while it appends: each reopen reads every entry the writer
had committed (append() returned) before the kill, and the next writer goes on after them."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

from cgscope.history.store import read

# Appends frames as fast as it can, printing each one's time once append() has returned: given as their
# objects, most are stored as their change from the frame before (a container comes and goes too).
WRITER = r"""
import sys, time
from pathlib import Path
from cgscope.history.store import Entry, Writer
writer = Writer.open(Path(sys.argv[1]), retain_s=0, max_bytes=0)
print("ready", flush=True)
n = 0
while True:
    n += 1
    rows = [{"i": f"{c:064x}", "cpu": (n * c) % 13, "pad": "x" * (n % 700)} for c in range(30) if c != n % 40]
    at = time.time()
    writer.append(Entry(at, "frame", None, {"n": n, "c": rows}))
    print(repr(at), flush=True)
"""


def rows(n: int) -> list[dict[str, object]]:
    """The containers of WRITER's frame `n`."""
    return [{"i": f"{c:064x}", "cpu": (n * c) % 13, "pad": "x" * (n % 700)} for c in range(30) if c != n % 40]


def test_every_committed_entry_survives_kill_9_at_random_moments(tmp_path: Path) -> None:
    rng = random.Random(15)
    committed: list[float] = []
    for _ in range(50):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        try:
            assert proc.stdout.readline() == "ready\n"
            time.sleep(rng.uniform(0.0, 0.05))
        finally:
            proc.kill()
            out = proc.stdout.read()  # from the stream readline() read ahead into: communicate() would not
            proc.stdout.close()
            proc.wait(timeout=10)
        committed += [float(line) for line in out.splitlines()]
        reading = read(tmp_path)
        stored = [e.at for e in reading.entries]
        assert stored[: len(committed)] == committed  # in order, none lost
        assert len(stored) - len(committed) <= 1  # at most the one being written when killed
        assert len(reading.warnings) <= 1, reading.warnings  # its torn tail, if it was torn
        for e in reading.entries[-80:]:  # the last frames stored as changes read as they were made
            n = json.loads(e.payload)["n"]
            assert json.loads(e.payload) == {"n": n, "c": rows(n)}
        committed = stored  # the next writer keeps an entry written whole before append() returned
    assert len(committed) > 50
