"""Benchmark reading the history back: `cgscope replay` to its first frame and `cgscope report`, on a
store of the node-scale fixture host (tests/hosts/node.py: 200 containers) written by the real store at
the default 5 s.

An hour is written (720 frames: one shard, its key frame and 719 frames against it, and the shard's
60 rollups), then read back the ways the commands read it; a day is that hour's shard and rollups copied
24 times, an hour apart. What reads every frame is linear in them: its day is its hour times 24. Goals
tracked by the project: replay shows its first frame of a day's store within 1 s, `report --since 24h`
(whose ends cut minutes) prints within 2 s.

    python bench/bench_history.py [--frames 720]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from hosts.node import node_host  # noqa: E402

from cgscope.fs.hostroot import HostRoot  # noqa: E402
from cgscope.history import codec, index, rollup, shard, store  # noqa: E402
from cgscope.history.index import Source  # noqa: E402
from cgscope.history.replay import Replay  # noqa: E402
from cgscope.history.report import summarize  # noqa: E402
from cgscope.sampling import Sampler  # noqa: E402

GOAL_REPLAY_S, GOAL_REPORT_S = 1.0, 2.0
T0 = 1_764_547_200.0  # an hour's start: the frames fill one shard


def write(directory: Path, root: Path, frames: int) -> None:
    """`frames` frames 5 s apart, of three refreshes of the node taken in turn (their counters are
    fixed: what differs is the time and the rates' intervals), with the rollups the store writes of them
    as it does for the recorder."""
    sampler = Sampler(HostRoot.at(root))
    sampled = [sampler.sample(()) for _ in range(4)][1:]
    writer = store.Writer.open(directory, retain_s=0, max_bytes=0)
    try:
        for i in range(frames):
            writer.append(
                store.frame_entry(dataclasses.replace(sampled[i % len(sampled)], taken_at=T0 + 5 * i))
            )
    finally:
        writer.close()


def day_of(hour: Path, day: Path) -> None:
    """24 copies of the hour's shard and rollups, each an hour later: their entries' times (and the
    rollups' spans) moved, their payloads as written."""
    day.mkdir()
    [path] = store.shards(hour)
    source = Source(path)
    kept = index.records(path)
    for record in kept:
        source.start(record)
    key = source.payload(kept[0])
    for h in range(24):
        moved = h * store.HOUR
        name = day / store.shard_name(T0 + moved)
        name.write_bytes(b"".join(shard.pack(r.kind, r.flags, r.at + moved, r.body) for r in kept))
        packer = shard.Packer()
        packer.set_key(key)
        out = []
        for record in index.records(store.rollups_of(path)):
            r = rollup.decode(source.payload(record)).rollup()
            r.span = (r.span[0] + moved, r.span[1] + moved)
            out.append(packer.pack("summary", r.span[1], rollup.encode(r)))
        store.rollups_of(name).write_bytes(b"".join(out))


def timed(what: str, hour: float, day: float | None, goal: float | None = None) -> None:
    said = f"; goal {goal:g} s" if goal is not None else ""
    per_day = f"{day:7.2f} s a day" if day is not None else " " * 13
    print(f"{what:<46} {hour * 1000:9.1f} ms for the hour  {per_day}{said}")


def clock(run: Callable[[], object]) -> float:
    began = time.perf_counter()
    run()
    return time.perf_counter() - began


def first_frame(root: Path, directory: Path) -> None:
    Replay(HostRoot.at(root), store.index(directory)).sample(())


def far_frame(directory: Path, at: int) -> None:
    codec.decode(store.index(directory).entries[at].frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=720, help="frames written (720: an hour at 5 s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        host = node_host(Path(tmp) / "host", "v2")
        hour, day = Path(tmp) / "hour", Path(tmp) / "day"
        took = clock(lambda: write(hour, host.root, args.frames))
        size = sum(p.stat().st_size for p in hour.iterdir())
        rolled = store.rollups_of(store.shards(hour)[0]).stat().st_size
        print(
            f"wrote {args.frames} frames of 200 containers in {took:.1f} s: {size} bytes, {rolled} of rollups"
        )
        day_of(hour, day)
        scale = 17280 / args.frames  # frames in a day at 5 s

        read_s = clock(lambda: store.read(hour))
        timed("store.read (every entry decompressed)", read_s, read_s * scale)
        first = clock(lambda: first_frame(host.root, hour)), clock(lambda: first_frame(host.root, day))
        timed("replay: its first frame", *first, GOAL_REPLAY_S)
        far = shard.ANCHOR - 1  # read from the whole frame before it and 59 changes
        worst = clock(lambda: far_frame(hour, far)), clock(lambda: far_frame(day, far))
        timed("replay: a frame 59 changes from a whole one", *worst)
        frames_s = clock(lambda: summarize(store.index(hour)))
        timed("report by frames alone (a store without rollups)", frames_s, frames_s * scale)
        whole = (
            clock(lambda: summarize(store.index(hour, rollups=True))),
            clock(lambda: summarize(store.index(day, rollups=True))),
        )
        timed("report with rollups, whole minutes", *whole)
        edges = T0 + 27.5, T0 + args.frames * 5 - 32.5  # a minute cut at either end
        cut = (
            clock(lambda: summarize(store.index(hour, *edges, rollups=True))),
            clock(lambda: summarize(store.index(day, edges[0], edges[1] + 23 * store.HOUR, rollups=True))),
        )
        timed("report with rollups, cut minutes at the ends", *cut, GOAL_REPORT_S)

        replay = Replay(HostRoot.at(host.root), store.index(hour))
        spark_s = clock(lambda: replay.series(None, replay.frame(len(replay) - 1)))  # the host's detail
        timed("replay: a detail's 300-frame sparklines", spark_s, None)

        objects = [e.frame for e in store.index(hour).entries]
        roller = rollup.Roller()  # what the store adds to each frame the recorder appends

        def roll() -> None:
            for i, frame in enumerate(objects):
                roller.add(T0 + 5 * i, frame)

        roll_s = clock(roll)
        print(f"rolling the frames up as the store does: {roll_s / len(objects) * 1000:.2f} ms a frame")


if __name__ == "__main__":
    main()
