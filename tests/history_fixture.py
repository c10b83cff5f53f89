"""A recorded stretch for the tests of `report` and `replay`: the fixture host hosts/counters.py (v2) and
its Docker container "web", recorded by the real store (history/store.py) for FRAMES frames STEP s apart
from T0, with the events the recorder's detector finds between them:

- every frame the container spends one more second throttled (cpu.stat throttled_usec);
- at frame OOM its memory grows to PEAK_MIB, and it is OOM-killed: memory.events oom_kill goes to 2,
  and the kernel log names the victim (hosts/kmsg_oom.txt: pid 4243, nginx);
- at frame RAISED its quota is raised from 0.2 to 0.5 CPUs (a limit_changed event).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from helpers import files
from hosts.counters import MIB, V2_CG, v2_host
from test_history_events import FixtureLog

from cgscope.fs.hostroot import HostRoot
from cgscope.history.events import Detector
from cgscope.history.store import Entry, Writer, frame_entry
from cgscope.sampling import Frame, Sampler

T0 = 1_764_547_200.0  # 2025-12-01T00:00:00Z
STEP = 5.0
FRAMES = 10
OOM, RAISED = 4, 7
PEAK_MIB = 190  # of the 200 MiB limit the container's parent sets
THROTTLED_S = 7.0  # at the first frame


def at(i: int) -> float:
    return T0 + i * STEP


def record_fixture(store: Path, tmp: Path) -> list[Frame]:
    """Writes the stretch into `store` (a new directory); the frames as they were sampled."""
    h = v2_host(tmp)
    sampler, log = Sampler(HostRoot.at(h.root)), FixtureLog()
    detector = Detector(log)
    top = h.cgroup_dir("unified", V2_CG)
    assert top is not None
    writer = Writer.open(store, retain_s=0, max_bytes=0)
    frames: list[Frame] = []
    stat = (top / "cpu.stat").read_text()
    try:
        for i in range(FRAMES):
            throttled = f"throttled_usec {int((THROTTLED_S + i) * 1_000_000)}"
            files(top, cpu__stat=stat.replace("throttled_usec 7000000", throttled))
            if i == OOM:
                files(top, memory__current=f"{PEAK_MIB * MIB}\n")
                files(top, memory__events="low 0\nhigh 0\nmax 14\noom 2\noom_kill 2\noom_group_kill 0\n")
                log.log(0, 7)
            if i == OOM + 1:
                files(top, memory__current=f"{100 * MIB}\n")
            if i == RAISED:
                files(top, cpu__max="50000 100000\n")
            frame = dataclasses.replace(sampler.sample(()), taken_at=at(i))
            events = detector.step(frames[-1] if frames else None, frame)
            writer.append(frame_entry(frame))
            for event in events:
                writer.append(Entry(event.at, "event", event.to_json()))
            frames.append(frame)
    finally:
        writer.close()
    return frames
