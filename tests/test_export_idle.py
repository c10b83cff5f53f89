"""Idle containers in `cgscope export`, as cAdvisor's dynamic housekeeping treats them: a container whose
CPU, memory and tasks read at a reading as they did at the one before is not read again until the slow
figures are due (docs/export.md, "Staleness"), its figures served as last read and seen now; one whose
counters change is read at every reading."""

from __future__ import annotations

import time
from pathlib import Path

from exporthosts import APP_CG, HOSTS, V2_CG, v2_counters

from cgscope.export.source import Figures, Reading, Source
from cgscope.fs.files import counting_opens
from cgscope.fs.hostroot import HostRoot

SLOW_SECONDS = 2.0


def _of(reading: Reading, cgroup: str) -> Figures:
    [figures] = [f for labels, f in reading.cgroups if labels.id == cgroup]
    return figures


def test_an_idle_container_is_read_with_the_slow_figures_and_a_busy_one_every_time(tmp_path: Path) -> None:
    h = HOSTS["v2"](tmp_path)
    web, app = h.cgroup_dir("unified", V2_CG), h.cgroup_dir("unified", APP_CG)
    assert web is not None and app is not None
    source = Source(HostRoot.at(h.root), slow_seconds=SLOW_SECONDS)
    started = time.monotonic()
    first = source.read()  # the slow figures due: every container read
    busy = 4_000_000

    def work() -> None:  # the app used CPU since the last reading
        nonlocal busy
        busy += 250_000
        v2_counters(app, usage_usec=busy, memory=30 << 20)

    work()
    second = source.read()  # web read as at the first: idle from now on
    assert _of(second, V2_CG).cpu_seconds == _of(first, V2_CG).cpu_seconds
    stat = (web / "cpu.stat").read_text()
    assert stat.startswith("usage_usec 5000000\n")
    (web / "cpu.stat").write_text(stat.replace("usage_usec 5000000\n", "usage_usec 9000000\n", 1))
    work()
    with counting_opens() as opens:
        third = source.read()
    assert time.monotonic() - started < SLOW_SECONDS, "the readings took longer than the test allows"
    assert not [p for p in opens.files if p.startswith(f"{web}/")]  # not one of web's files
    served = _of(third, V2_CG)
    assert served.cpu_seconds == _of(second, V2_CG).cpu_seconds == 5.0  # as last read ...
    assert served.last_seen == third.taken_at  # ... and seen now
    assert _of(third, APP_CG).cpu_seconds == busy / 1e6  # the busy one read again
    time.sleep(max(0.0, started + SLOW_SECONDS - time.monotonic()))
    work()
    due = source.read()  # the slow figures due again: web read, its change served
    assert _of(due, V2_CG).cpu_seconds == 9.0
    assert _of(due, APP_CG).cpu_seconds == busy / 1e6
