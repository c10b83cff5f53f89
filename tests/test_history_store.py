"""The history store: entries read back in time order, a torn or corrupted shard read around with one
warning per damaged stretch, one writer per store, whole shards rotated out."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
import zstandard

from cgscope.errors import CgscopeError
from cgscope.history import shard
from cgscope.history.store import HOUR, PID_FILE, Entry, Writer, index, read, shard_name, shards

T0 = 1_780_000_000.0 - 1_780_000_000.0 % HOUR  # the start of an hour (UTC)
BIG = 1 << 40


def frame(i: int) -> bytes:
    """A payload like a frame's: mostly what the previous one said (ids, names, limits), a few figures
    changing."""
    ids = [hashlib.sha256(bytes([n])).hexdigest() for n in range(40)]
    rows = [{"id": c, "name": f"svc-{c[:6]}", "cpu": (i * n) % 7, "max": 1 << 30} for n, c in enumerate(ids)]
    return json.dumps({"n": i, "rows": rows}).encode()


def write(directory: Path, ats: list[float], **limits: float) -> list[Entry]:
    entries = [Entry(at, "frame", frame(i)) for i, at in enumerate(ats)]
    writer = Writer.open(directory, retain_s=limits.get("retain_s", 0), max_bytes=int(limits.get("max", 0)))
    try:
        for e in entries:
            writer.append(e)
    finally:
        writer.close()
    return entries


def test_entries_come_back_in_time_order_across_shards(tmp_path: Path) -> None:
    ats = [T0 + i * 600 for i in range(12)]  # two hours of frames, an event in each
    writer = Writer.open(tmp_path, retain_s=0, max_bytes=0)
    wrote = []
    for i, at in enumerate(ats):
        wrote += [Entry(at, "frame", frame(i)), Entry(at + 1, "event", b'{"kind":"started"}')]
        writer.append(wrote[-2])
        writer.append(wrote[-1])
    writer.close()
    assert [p.name for p in shards(tmp_path)] == [shard_name(T0), shard_name(T0 + HOUR)]
    reading = read(tmp_path)
    assert reading.entries == wrote
    assert reading.warnings == []
    middle = read(tmp_path, since=T0 + 3000, until=T0 + 4200)
    assert [e.at for e in middle.entries] == [T0 + 3000, T0 + 3001, T0 + 3600, T0 + 3601, T0 + 4200]


def test_later_frames_of_a_shard_store_only_what_changed_against_its_key_frame(tmp_path: Path) -> None:
    entries = write(tmp_path, [T0 + i for i in range(100)])
    alone = sum(len(zstandard.ZstdCompressor(level=shard.LEVEL).compress(e.payload)) for e in entries)
    stored = shards(tmp_path)[0].stat().st_size
    assert stored < alone / 2, (stored, alone)


def test_a_torn_tail_is_skipped_with_one_warning_and_cut_off_by_the_next_writer(tmp_path: Path) -> None:
    entries = write(tmp_path, [T0 + i for i in range(10)])
    path = shards(tmp_path)[0]
    data = path.read_bytes()
    path.write_bytes(data[:-7])  # the last entry's write was cut short
    reading = read(tmp_path)
    assert reading.entries == entries[:-1]
    assert len(reading.warnings) == 1 and "torn tail" in reading.warnings[0], reading.warnings
    more = write(tmp_path, [T0 + 20, T0 + 21])
    again = read(tmp_path)
    assert again.warnings == []
    assert [e.at for e in again.entries] == [e.at for e in entries[:-1] + more]
    assert [e.payload for e in again.entries[-2:]] == [frame(0), frame(1)]


def test_a_torn_header_alone_is_a_torn_tail(tmp_path: Path) -> None:
    entries = write(tmp_path, [T0 + i for i in range(3)])
    path = shards(tmp_path)[0]
    with path.open("ab") as f:
        f.write(shard.MAGIC + b"\x01\x00")  # a crash after a few bytes of the next header
    reading = read(tmp_path)
    assert reading.entries == entries
    assert len(reading.warnings) == 1 and "skipped" in reading.warnings[0]


def test_a_corrupted_payload_loses_that_entry_only(tmp_path: Path) -> None:
    entries = write(tmp_path, [T0 + i for i in range(10)])
    path = shards(tmp_path)[0]
    data = bytearray(path.read_bytes())
    offsets = [r.end for r in shard.scan(bytes(data)) if isinstance(r, shard.Record)]
    data[offsets[4] + shard.HEADER.size + 3] ^= 0xFF  # a byte of the 6th entry's payload
    path.write_bytes(bytes(data))
    reading = read(tmp_path)
    assert reading.entries == entries[:5] + entries[6:]
    assert len(reading.warnings) == 1 and "payload CRC mismatch" in reading.warnings[0]


def test_a_payload_is_decompressed_when_read_and_one_that_cannot_be_is_one_line(tmp_path: Path) -> None:
    entries = write(tmp_path, [T0 + i for i in range(3)])
    path = shards(tmp_path)[0]
    with path.open("ab") as f:  # whole, its CRC right, but no zstd frame
        f.write(shard.pack("frame", shard.DICT, T0 + 3, b"not zstd"))
    found = index(tmp_path)
    assert [(e.at, e.payload) for e in found.entries[:3]] == [(e.at, e.payload) for e in entries]
    assert len(found.entries) == 4 and found.warnings == []
    with pytest.raises(CgscopeError, match=r"^.*: the entry at .* cannot be decompressed$"):
        found.entries[3].payload  # noqa: B018
    reading = read(tmp_path)
    assert reading.entries == entries
    assert len(reading.warnings) == 1 and "cannot be decompressed" in reading.warnings[0]


def test_a_corrupted_header_is_read_around_to_the_next_whole_entry(tmp_path: Path) -> None:
    entries = write(tmp_path, [T0 + i for i in range(10)])
    path = shards(tmp_path)[0]
    data = bytearray(path.read_bytes())
    offsets = [r.end for r in shard.scan(bytes(data)) if isinstance(r, shard.Record)]
    data[offsets[2] + 9] ^= 0xFF  # the 4th entry's timestamp: its header's CRC no longer holds
    path.write_bytes(bytes(data))
    reading = read(tmp_path)
    assert reading.entries == entries[:3] + entries[4:]
    assert len(reading.warnings) == 1 and "no whole entry header" in reading.warnings[0]


def test_a_damaged_key_frame_is_said_once_for_the_entries_it_keyed(tmp_path: Path) -> None:
    write(tmp_path, [T0 + i for i in range(5)])
    path = shards(tmp_path)[0]
    data = bytearray(path.read_bytes())
    data[shard.HEADER.size + 2] ^= 0xFF
    path.write_bytes(bytes(data))
    reading = read(tmp_path)
    assert reading.entries == []
    assert len(reading.warnings) == 2 and "4 entries skipped" in reading.warnings[1], reading.warnings


def test_garbage_and_a_newer_format_never_crash_the_reader(tmp_path: Path) -> None:
    (tmp_path / shard_name(T0)).write_bytes(os.urandom(5000))
    head = shard.HEADER.pack(shard.MAGIC, shard.FORMAT + 1, 0, 0, T0 + HOUR, 1, zlib.crc32(b"x"), 0)[:-4]
    newer = head + struct.pack("<I", zlib.crc32(head)) + b"x"
    (tmp_path / shard_name(T0 + HOUR)).write_bytes(newer)
    reading = read(tmp_path)
    assert reading.entries == []
    assert len(reading.warnings) == 2 and "newer than this cgscope" in reading.warnings[1]


def test_no_history_is_one_line(tmp_path: Path) -> None:
    for directory in (tmp_path / "missing", tmp_path):
        with pytest.raises(CgscopeError, match=r"^no history in .*: run `cgscope record --dir .*`$"):
            read(directory)


def test_a_second_writer_is_refused_naming_the_first(tmp_path: Path) -> None:
    writer = Writer.open(tmp_path, retain_s=0, max_bytes=0)
    try:
        assert (tmp_path / PID_FILE).read_text().strip() == str(os.getpid())
        code = (
            "import sys; from pathlib import Path; from cgscope.history.store import Writer\n"
            "from cgscope.errors import CgscopeError\n"
            "try: Writer.open(Path(sys.argv[1]), retain_s=0, max_bytes=0)\n"
            "except CgscopeError as e: print(e)\n"
        )
        said = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert said == (
            f"{tmp_path} is being recorded by pid {os.getpid()}: one recorder per store "
            "(stop it, or give another --dir)"
        )
    finally:
        writer.close()
    Writer.open(tmp_path, retain_s=0, max_bytes=0).close()  # free again once the first has closed


def test_retention_drops_whole_old_shards_and_keeps_the_newest(tmp_path: Path) -> None:
    hours = [T0 + h * HOUR for h in range(6)]
    write(tmp_path, hours)
    sizes = {p.name: p.stat().st_size for p in shards(tmp_path)}
    now = T0 + 6 * HOUR
    write(tmp_path, [now], retain_s=3 * HOUR)  # hours ending 3 h before now go: the first three
    assert [p.name for p in shards(tmp_path)] == [shard_name(t) for t in [*hours[3:], now]]
    assert all(p.stat().st_size == sizes[p.name] for p in shards(tmp_path)[:-1])  # never rewritten
    room = sizes[shard_name(hours[5])] + (tmp_path / shard_name(now)).stat().st_size + 100
    write(tmp_path, [now + 1], max=room)  # room for one hour beside now's two entries
    assert [p.name for p in shards(tmp_path)] == [shard_name(hours[5]), shard_name(now)]
    write(tmp_path, [now + 2], max=1)  # the shard being written stays, however small the cap
    assert [p.name for p in shards(tmp_path)] == [shard_name(now)]
    assert len(read(tmp_path).entries) == 3


def test_a_shard_removed_under_the_writer_is_begun_again(tmp_path: Path) -> None:
    writer = Writer.open(tmp_path, retain_s=0, max_bytes=0)
    try:
        writer.append(Entry(T0, "frame", frame(0)))
        shards(tmp_path)[0].unlink()
        writer.append(Entry(T0 + 1, "frame", frame(1)))
        writer.append(Entry(T0 + 2, "frame", frame(2)))
    finally:
        writer.close()
    reading = read(tmp_path)
    assert [e.payload for e in reading.entries] == [frame(1), frame(2)] and reading.warnings == []


def test_entries_at_now_go_to_the_hour_of_now() -> None:
    now = time.time()
    assert shard_name(now) == time.strftime("%Y%m%dT%H.cgh", time.gmtime(now))


def test_a_store_removed_under_the_writer_is_made_again(tmp_path: Path) -> None:
    store = tmp_path / "history"
    writer = Writer.open(store, retain_s=0, max_bytes=0)
    try:
        writer.append(Entry(T0, "frame", frame(0)))
        shutil.rmtree(store)
        writer.append(Entry(T0 + 1, "frame", frame(1)))
    finally:
        writer.close()
    assert [e.payload for e in read(store).entries] == [frame(1)]
