"""The stores written by each format (tests/goldens/history/formatN/, made by tests/history_golden.py)
read as they did when they were written: a later cgscope that changes the format must keep this test
passing, reading the old stores or migrating them."""

from __future__ import annotations

from pathlib import Path

import pytest
from history_golden import AT, GOLDENS
from hosts.counters import CID, MIB

from cgscope.history import shard
from cgscope.history.codec import decode
from cgscope.history.events import Event
from cgscope.history.store import read, shards

WEB = {"id": CID, "name": "web", "runtime": "docker", "init_pid": 4242}


@pytest.mark.parametrize("golden", GOLDENS.values(), ids=[f"format{n}" for n in GOLDENS])
def test_each_format_s_store_reads_as_written(golden: Path) -> None:
    assert [p.name for p in shards(golden)] == ["20251201T00.cgh", "20251201T01.cgh"]
    reading = read(golden)
    assert reading.warnings == []
    assert [(e.at, e.kind) for e in reading.entries] == [
        (AT[0], "frame"), (AT[1], "frame"), (AT[1], "event"), (AT[1], "event"), (AT[2], "frame")
    ]  # fmt: skip
    events = [Event.from_json(e.payload) for e in reading.entries if e.kind == "event"]
    assert events == [
        Event(AT[1], "oom_kill", WEB, {"victim_pid": 4243, "victim_comm": "nginx"}),
        Event(AT[1], "limit_changed", WEB, {"file": "cpu.max", "old": 0.2, "new": 0.5}),
    ]
    frames = [decode(e.payload) for e in reading.entries if e.kind == "frame"]
    assert [f.taken_at for f in frames] == list(AT)
    for f, quota, kills in zip(frames, (0.2, 0.5, 0.5), (1, 2, 2), strict=True):
        assert (f.hostname, f.kernel) == ("node1", "6.1.0-13-amd64")
        [web] = f.inventory.containers
        assert (web.id, web.name, web.runtime, web.init_pid) == (CID, "web", "docker", 4242)
        assert f.inventory.processes[4242].cmdline == ("nginx", "-g", "daemon off;")
        usage = f.container_usage[CID].usage
        assert usage.cpu is not None and usage.memory is not None
        assert (usage.cpu.quota_cpus, usage.cpu.cpuset) == (quota, (1, 2))
        assert (usage.memory.usage_bytes, usage.memory.limit_bytes) == (100 * MIB, 200 * MIB)
        assert usage.memory.oom_kills == kills
    assert frames[0].container_usage[CID].usage.interval is None  # the first frame: no rates yet
    assert frames[1].container_usage[CID].usage.interval is not None


def test_format_2_stores_the_second_frame_as_a_change_and_format_1_whole() -> None:
    def flags(golden: Path) -> list[int]:
        data = shards(golden)[0].read_bytes()
        return [r.flags for r in shard.scan(data) if isinstance(r, shard.Record) and r.kind == "frame"]

    assert flags(GOLDENS[1]) == [shard.KEY, shard.DICT]
    assert flags(GOLDENS[2]) == [shard.KEY, shard.DICT | shard.DELTA]
