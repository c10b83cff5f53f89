"""The golden stores, one of each format (tests/goldens/history/formatN/): what the fixture host
hosts/counters.py (v2) records over two hours — three frames of its Docker container "web" and the
events between them, OOM victim included (hosts/kmsg_oom.txt). test_history_golden.py reads each as
checked in, so a later cgscope must keep reading them all (or migrate them). Format 1 was written by the
cgscope of that format (frames whole, no rollups); format 2 stores the second frame of the first hour as
its change from the first. This writes the store of the format this cgscope writes; regenerate it only
when that format changes on purpose (a new format gets a directory of its own, the older ones stay):

    python tests/history_golden.py
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
GOLDENS = {n: HERE / "goldens" / "history" / f"format{n}" for n in (1, 2)}
GOLDEN = GOLDENS[1]  # the oldest: no rollups
T0 = 1_764_547_200.0  # 2025-12-01T00:00:00Z
AT = (T0 + 10, T0 + 15, T0 + 3600 + 5)  # two frames in the first hour's shard, one in the second's


def make(directory: Path) -> None:
    sys.path.insert(0, str(HERE))
    from helpers import files
    from hosts.counters import V2_CG, v2_host
    from test_history_events import FixtureLog

    from cgscope.fs.hostroot import HostRoot
    from cgscope.history.events import Detector
    from cgscope.history.store import Entry, Writer, frame_entry
    from cgscope.sampling import Sampler

    with tempfile.TemporaryDirectory() as tmp:
        h = v2_host(Path(tmp))
        sampler, log = Sampler(HostRoot.at(h.root)), FixtureLog()
        detector = Detector(log)
        top = h.cgroup_dir("unified", V2_CG)
        assert top is not None
        writer = Writer.open(directory, retain_s=0, max_bytes=0)
        prev = None
        for i, at in enumerate(AT):
            if i == 1:  # the container is OOM-killed, and its quota raised
                counted = "low 0\nhigh 0\nmax 14\noom 2\noom_kill 2\noom_group_kill 0\n"
                files(top, cpu__max="50000 100000\n", memory__events=counted)
                log.log(0, 7)
            frame = dataclasses.replace(sampler.sample(()), taken_at=at)
            events = detector.step(prev, frame)
            writer.append(frame_entry(frame))
            for event in events:
                writer.append(Entry(event.at, "event", event.to_json()))
            prev = frame
        writer.close()


if __name__ == "__main__":
    from cgscope.history.shard import FORMAT

    shutil.rmtree(GOLDENS[FORMAT], ignore_errors=True)
    make(GOLDENS[FORMAT])
    print(f"wrote {GOLDENS[FORMAT]}")
