"""Frames stored as their change from the frame before (history/delta.py, format 2): they read back as
they were made, every ANCHOR-th is stored whole, and a damaged entry costs the frames up to the next
whole one, said in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgscope.errors import InvalidFormat
from cgscope.history import shard
from cgscope.history.delta import diff_frame, patch_frame
from cgscope.history.store import HOUR, Entry, Writer, read, shards

T0 = 1_780_000_000.0 - 1_780_000_000.0 % HOUR

scalars = (
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats(-1e9, 1e9) | st.text(max_size=4)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from("abcde"), inner, max_size=4),
    max_leaves=12,
)
containers = st.lists(
    st.dictionaries(st.sampled_from(["u", "p", "m", "n"]), values, max_size=4), max_size=6
).map(lambda cs: [{"i": f"c{i % 4}", **c} for i, c in enumerate(cs)][:4])
frames = st.fixed_dictionaries({"n": st.integers(0, 99), "s": values, "c": containers})


@settings(max_examples=300, deadline=None)
@given(frames, frames)
def test_a_change_made_into_json_and_back_gives_the_later_frame(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    new["c"] = list({c["i"]: c for c in new["c"]}.values())  # a container once per frame
    old["c"] = list({c["i"]: c for c in old["c"]}.values())
    before = json.dumps(old)
    change = json.loads(json.dumps(diff_frame(old, new)))
    assert patch_frame(old, change) == new
    assert json.dumps(old) == before  # the frame before is left as it was


def test_a_change_that_does_not_fit_is_one_line() -> None:
    old = {"n": 1, "c": [{"i": "a", "u": [1, 2]}]}
    for change in (
        {"c": {"p": [0, 0]}},
        {"c": {"o": [[3, 1]], "p": [0]}},
        {"c": 7},
        {"c": {"p": [{"u": {"9": 1}}]}},
    ):
        with pytest.raises(InvalidFormat, match=r"^a recorded frame: [^\n]*$"):
            patch_frame(old, change)


def frame(n: int) -> dict[str, Any]:
    """A frame's object: 20 containers, one of them coming and going, their counters growing."""
    rows = [{"i": f"{c:064x}", "u": {"cpu": (n * c) % 7 / 10, "used": 1000 * n * c}} for c in range(20)]
    return {"v": 1, "n": n, "t": T0 + n, "c": [r for r in rows if n % 3 or r["i"] != f"{5:064x}"]}


def write(directory: Path, count: int, start: int = 0) -> None:
    writer = Writer.open(directory, retain_s=0, max_bytes=0)
    try:
        for n in range(start, start + count):
            writer.append(Entry(T0 + n, "frame", None, frame(n)))
    finally:
        writer.close()


def frame_flags(directory: Path) -> list[int]:
    data = shards(directory)[0].read_bytes()
    return [r.flags for r in shard.scan(data) if isinstance(r, shard.Record)]


def test_frames_come_back_as_made_and_every_anchor_th_is_whole(tmp_path: Path) -> None:
    count = 2 * shard.ANCHOR + 5
    write(tmp_path, count)
    reading = read(tmp_path)
    assert reading.warnings == []
    assert [json.loads(e.payload) for e in reading.entries] == [frame(n) for n in range(count)]
    whole = [i for i, f in enumerate(frame_flags(tmp_path)) if not f & shard.DELTA]
    assert whole == [0, shard.ANCHOR, 2 * shard.ANCHOR]
    assert frame_flags(tmp_path)[:2] == [shard.KEY, shard.DICT | shard.DELTA]


def test_a_damaged_change_costs_the_frames_up_to_the_next_whole_one(tmp_path: Path) -> None:
    count = shard.ANCHOR + 5
    write(tmp_path, count)
    path = shards(tmp_path)[0]
    data = bytearray(path.read_bytes())
    records = [r for r in shard.scan(bytes(data)) if isinstance(r, shard.Record)]
    data[records[9].end + shard.HEADER.size + 2] ^= 0xFF  # the 11th frame's payload
    path.write_bytes(bytes(data))
    reading = read(tmp_path)
    kept = [*range(10), *range(shard.ANCHOR, count)]
    assert [json.loads(e.payload)["n"] for e in reading.entries] == kept
    crc, lost = reading.warnings
    assert "payload CRC mismatch" in crc
    assert lost.endswith(
        f": {shard.ANCHOR - 11} entries skipped (the frame they were stored against is damaged)"
    )


def test_a_writer_that_starts_again_stores_its_first_frame_whole(tmp_path: Path) -> None:
    write(tmp_path, 5)
    write(tmp_path, 5, start=5)
    assert frame_flags(tmp_path) == [shard.KEY, *[shard.DICT | shard.DELTA] * 4, shard.DICT, *[6] * 4]
    assert [json.loads(e.payload) for e in read(tmp_path).entries] == [frame(n) for n in range(10)]


def test_a_pid_list_s_change_says_the_pids_come_and_gone() -> None:
    old = {"hp": [100, 1, 1, 50, 848], "c": []}  # 100, 101, 102, 152, 1000
    new = {"hp": [100, 2, 50, 848, 7, 3], "c": []}  # 100, 102, 152, 1000, 1007, 1010
    change = json.loads(json.dumps(diff_frame(old, new)))
    assert change["hp"] == {"+": [1007, 3], "-": [101]}
    assert patch_frame(old, change) == new
