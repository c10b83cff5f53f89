"""The rollups the store keeps of each minute and hour of frames (history/rollup.py): `cgscope report`
reads the same with them as by the frames alone — over whole stretches, over stretches whose ends cut a
minute or an hour, and when a rollup is torn, lost to a kill -9, or no longer matches its frames."""

from __future__ import annotations

import dataclasses
import random
import re
from pathlib import Path

import pytest
from helpers import files
from history_golden import GOLDEN
from hosts.counters import CID, MIB, V2_CG, v2_host

from cgscope.fs.hostroot import HostRoot
from cgscope.history import report, shard
from cgscope.history.codec import encode
from cgscope.history.events import Event
from cgscope.history.report import Summary, summarize
from cgscope.history.rollup import Roller, decode
from cgscope.history.store import HOUR, Entry, Writer, frame_entry, index, read, rollups_of, shards
from cgscope.sampling import Frame, Sampler

ONE = 1_764_550_800.0  # 2025-12-01T01:00:00Z
T0 = ONE - 400  # the frames cross into the next hour
STEP = 7.0  # seconds between frames: minutes hold 8 or 9 of them
FRAMES = 160
WEB = {"id": CID, "name": "web", "runtime": "docker", "init_pid": 4242}


def at(i: int) -> float:
    return T0 + i * STEP


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> list[Frame]:
    """Frames of the fixture host with figures that differ: CPU, throttling, memory and the quota."""
    h = v2_host(tmp_path_factory.mktemp("host"))
    top = h.cgroup_dir("unified", V2_CG)
    assert top is not None
    sampler, rng, out = Sampler(HostRoot.at(h.root)), random.Random(15), []
    usage = throttled = 0
    for i in range(13):
        usage += rng.randrange(0, 3_000_000)
        throttled += rng.randrange(0, 2_000_000)
        stat = f"usage_usec {usage}\nuser_usec {usage}\nsystem_usec 0\nnr_periods {i}\nnr_throttled {i}\n"
        files(
            top,
            cpu__stat=f"{stat}throttled_usec {throttled}\n",
            memory__current=f"{rng.choice((90, 150, 150, 190)) * MIB}\n",
        )
        files(top, cpu__max=f"{rng.choice((20000, 50000))} 100000\n")
        out.append(sampler.sample(()))
    return out[1:]


def write(store: Path, frames: list[Frame], *, close: bool = True, ats: list[float] | None = None) -> None:
    """The frames in turn at `ats` (default every STEP s from T0), an event after every 20th."""
    writer = Writer.open(store, retain_s=0, max_bytes=0)
    for i, t in enumerate(ats or [at(i) for i in range(FRAMES)]):
        writer.append(frame_entry(dataclasses.replace(frames[i % len(frames)], taken_at=t)))
        if i % 20 == 0:
            writer.append(Entry(t + 1, "event", Event(t + 1, "oom_kill", WEB, {"victim_pid": i}).to_json()))
    if close:
        writer.close()


def both(store: Path, since: float | None = None, until: float | None = None) -> tuple[Summary, Summary]:
    """The report with the rollups, and by the frames alone."""
    return summarize(index(store, since, until, rollups=True)), summarize(index(store, since, until))


def frames_read(monkeypatch: pytest.MonkeyPatch, store: Path, since: float | None = None) -> int:
    read_: list[object] = []
    original = getattr(report, "figures")  # noqa: B009 - the name report.py calls, not re-exported

    def counted(data: object) -> object:
        read_.append(data)
        return original(data)

    monkeypatch.setattr(report, "figures", counted)
    summarize(index(store, since, rollups=True))
    monkeypatch.undo()
    return len(read_)


def test_the_report_reads_the_same_with_rollups_and_reads_few_frames(
    sampled: list[Frame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, sampled)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".cgr") == [
        "20251201T00.cgr", "20251201T01.cgr"
    ]  # fmt: skip
    with_rollups, by_frames = both(tmp_path)
    assert with_rollups == by_frames
    [web] = with_rollups.containers
    assert web.frames == FRAMES and len(web.oom_kills) == FRAMES // 20
    assert web.cpu_frames > 0 and web.throttled_s and web.wset_peak == (190 - 25) * MIB
    minutes = {at(i) // 60 for i in range(FRAMES)}
    assert len(index(tmp_path, rollups=True).rollups) == len(minutes) + 2  # and the two hours
    assert frames_read(monkeypatch, tmp_path) == 0


def test_ends_that_cut_minutes_and_hours_read_those_frames_alone(
    sampled: list[Frame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, sampled)
    rng = random.Random(3)
    for _ in range(25):
        since, until = sorted(rng.uniform(T0 - 10, at(FRAMES) + 10) for _ in range(2))
        with_rollups, by_frames = both(tmp_path, since, until)
        assert with_rollups == by_frames, (since, until)
    assert both(tmp_path, ONE + 15, ONE + 45)[0].frames == 4  # within one minute: its frames
    assert frames_read(monkeypatch, tmp_path, since=at(3) + 1) < 9  # the rest of one minute


def test_a_torn_or_lost_rollup_reads_its_frames(sampled: list[Frame], tmp_path: Path) -> None:
    write(tmp_path / "killed", sampled, close=False)  # a kill -9: the last minute and hour never stored
    assert both(tmp_path / "killed")[0] == both(tmp_path / "killed")[1]
    write(tmp_path / "torn", sampled)
    for path in shards(tmp_path / "torn"):
        data = rollups_of(path).read_bytes()
        rollups_of(path).write_bytes(data[: len(data) - 40])  # the hour's rollup torn
    with_rollups, by_frames = both(tmp_path / "torn")
    assert with_rollups == by_frames and with_rollups.warnings == []


def test_a_rollup_whose_frames_changed_is_not_used(sampled: list[Frame], tmp_path: Path) -> None:
    write(tmp_path, sampled)
    path = shards(tmp_path)[0]
    data = bytearray(path.read_bytes())
    records = [r for r in shard.scan(bytes(data)) if isinstance(r, shard.Record)]
    start = next(records[k - 1].end for k in range(9, len(records)) if records[k].kind == "frame")
    data[start + shard.HEADER.size + 5] ^= 0xFF  # a frame's payload: its CRC fails, the frame is lost
    path.write_bytes(bytes(data))
    with_rollups, by_frames = both(tmp_path)
    assert with_rollups == by_frames
    crc, later = with_rollups.warnings  # and the frames stored as changes after it, up to a whole one
    assert "payload CRC mismatch" in crc and (
        found := re.search(r": (\d+) entries skipped \(the frame", later)
    )
    assert 0 < int(found[1]) < shard.ANCHOR
    assert with_rollups.containers[0].frames == FRAMES - 1 - int(found[1])


def test_a_clock_stepped_back_never_sums_frames_out_of_order(sampled: list[Frame], tmp_path: Path) -> None:
    for back in (30, 150):  # within a minute, and to an earlier minute
        ats = [at(i) for i in range(60)]
        ats[30:] = [t - back for t in ats[30:]]  # frames of the same seconds twice, out of order
        write(tmp_path / str(back), sampled, ats=ats)
        with_rollups, by_frames = both(tmp_path / str(back))
        assert with_rollups == by_frames and with_rollups.frames == 60


def test_rollups_go_with_their_shards_and_readers_never_see_them(
    sampled: list[Frame], tmp_path: Path
) -> None:
    write(tmp_path, sampled)
    reading = read(tmp_path)
    assert {e.kind for e in reading.entries} == {"frame", "event"} and reading.warnings == []
    assert [p.suffix for p in shards(tmp_path)] == [".cgh", ".cgh"]
    writer = Writer.open(tmp_path, retain_s=HOUR, max_bytes=0)
    writer.append(frame_entry(dataclasses.replace(sampled[0], taken_at=T0 + 4 * HOUR)))
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".pid") == [
        "20251201T04.cgh", "20251201T04.cgr"
    ]  # fmt: skip


def test_a_format_1_store_has_no_rollups_and_reads_by_frames() -> None:
    with_rollups, by_frames = both(GOLDEN)
    assert with_rollups == by_frames and with_rollups.frames == 3
    assert index(GOLDEN, rollups=True).rollups == []


def test_an_hour_whose_clock_went_back_is_not_rolled_up(sampled: list[Frame]) -> None:
    roller, payload = Roller(), encode(sampled[0])
    for t in (ONE + 100, ONE + 130, ONE + 70):  # back to the minute before
        assert [decode(p).span for _, p in roller.due(t)] in ([], [(ONE + 100,) * 2], [(ONE + 130,) * 2])
        roller.add(t, payload)
    spans = [decode(p).span for _, p in roller.take()]
    assert spans == [(ONE + 70, ONE + 70)]  # the last minute; no hour
