"""Benchmark reading the history back: `cgscope replay` to its first frame and `cgscope report`, on a
store of the node-scale fixture host (tests/hosts/node.py: 200 containers) written by the real store at
the default 5 s.

An hour is written (720 frames: one shard, its key frame and 719 frames against it), then read back the
ways the commands read it; a day is 24 such shards, so its figures are the hour's times 24 (reading is
linear in the frames). Goals tracked by the project: replay shows its first frame of a day's store
within 1 s, `report --since 24h` prints within 2 s.

    python bench/bench_history.py [--frames 720]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from hosts.node import node_host  # noqa: E402

from cgscope.fs.hostroot import HostRoot  # noqa: E402
from cgscope.history import store  # noqa: E402
from cgscope.history.codec import encode  # noqa: E402
from cgscope.history.replay import Replay  # noqa: E402
from cgscope.history.report import summarize  # noqa: E402
from cgscope.sampling import Sampler  # noqa: E402

GOAL_REPLAY_S, GOAL_REPORT_S = 1.0, 2.0
T0 = 1_764_547_200.0  # an hour's start: the frames fill one shard


def write(directory: Path, root: Path, frames: int) -> None:
    """`frames` frames 5 s apart, of three refreshes of the node taken in turn (their counters are
    fixed: what differs is the time and the rates' intervals)."""
    sampler = Sampler(HostRoot.at(root))
    sampled = [sampler.sample(()) for _ in range(4)][1:]
    writer = store.Writer.open(directory, retain_s=0, max_bytes=0)
    try:
        for i in range(frames):
            frame = dataclasses.replace(sampled[i % len(sampled)], taken_at=T0 + 5 * i)
            writer.append(store.Entry(frame.taken_at, "frame", encode(frame)))
    finally:
        writer.close()


def timed(what: str, seconds: float, per_day: float, goal: float | None = None) -> None:
    said = f"; goal {goal:g} s" if goal is not None else ""
    print(f"{what:<42} {seconds * 1000:9.1f} ms for the hour  {per_day:7.2f} s a day{said}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=720, help="frames written (720: an hour at 5 s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        host = node_host(Path(tmp) / "host", "v2")
        directory = Path(tmp) / "history"
        began = time.perf_counter()
        write(directory, host.root, args.frames)
        size = sum(p.stat().st_size for p in store.shards(directory))
        took = time.perf_counter() - began
        print(f"wrote {args.frames} frames of 200 containers in {took:.1f} s: {size} bytes")
        scale = 17280 / args.frames  # frames in a day at 5 s

        began = time.perf_counter()
        reading = store.read(directory)
        read_s = time.perf_counter() - began
        timed("store.read (decompress, check)", read_s, read_s * scale)

        began = time.perf_counter()
        replay = Replay(HostRoot.at(host.root), reading)
        replay.sample(())
        first_s = time.perf_counter() - began
        timed("replay: the first frame, once read", first_s, read_s * scale + first_s, GOAL_REPLAY_S)

        began = time.perf_counter()
        summarize(reading)
        report_s = time.perf_counter() - began
        timed("report: every frame's figures", report_s, (read_s + report_s) * scale, GOAL_REPORT_S)

        began = time.perf_counter()
        replay.series(None, replay.frame(len(replay) - 1))  # the host: its detail's sparklines
        spark_s = time.perf_counter() - began
        timed("replay: a detail's 300-frame sparklines", spark_s, spark_s)


if __name__ == "__main__":
    main()
