"""Benchmark `cgscope record` beside `atop -w` (atop's own recorder), both at the default 5 s, on the
node-scale load (load.py: ~200 bare containers, 2,000 processes).

Figures: each recorder's CPU % of one core over the measured period (utime + stime from /proc/PID/stat,
after a warm-up), and what its file grows by per sample, extrapolated to a day. cgscope's store starts
a shard (and its key frame) every hour and stores every ANCHOR-th frame whole, the rest as their
changes, so a day is extrapolated as 24 x (the key frame, 720 / ANCHOR - 1 whole frames, the rest
changes) from the sizes measured, plus 24 x 61 rollups of the size measured (a minute's and an
hour's hold the same rows). The store's frames are then compressed again
the other ways the store could have been written — whole (zlib alone, zstd alone, zstd against the key
frame at levels 3, 9 and 19, format 1's), and as changes (zlib, zstd against the key frame) — for the
size and the CPU each costs per frame. Goals tracked by the project: the recorder <= 0.5 % of
one core, the store <= 30 MB per day.

Needs root and Debian's atop (without it, cgscope alone is measured). `python bench/bench_record.py
--help` for options.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import COMMAND_ENV, Background, console_script, finish, log, machine, stop_on_signals
from bench_export import cpu_seconds
from load import Load, LoadError, find_hierarchies, pid_capacity

from cgscope.history import shard
from cgscope.history.codec import decode
from cgscope.history.delta import diff_frame
from cgscope.history.store import read, rollups_of, shards

DAY = 86400
GOAL_CPU_PERCENT, GOAL_MB_PER_DAY = 0.5, 30.0
PER_SHARD = 720  # frames in an hour at 5 s


class Recorder:
    """A recorder process, stopped by its pid; `size()`: the bytes it has written so far."""

    def __init__(self, name: str, argv: list[str], where: Path) -> None:
        self.name, self.where = name, where
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=COMMAND_ENV,
        )

    def size(self) -> int:
        files = [self.where] if self.where.is_file() else list(self.where.glob("*"))
        return sum(f.stat().st_size for f in files if f.is_file())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def store_sizes(store: Path) -> tuple[int, list[int], list[int]]:
    """(the key frame's bytes, each later frame stored whole, each stored as a change) of the store's
    first shard, headers included."""
    data = shards(store)[0].read_bytes()
    key, start = 0, 0
    whole: list[int] = []
    changes: list[int] = []
    for item in shard.scan(data):
        if isinstance(item, shard.Record):
            size = item.end - start
            if item.flags & shard.KEY:
                key = size
            elif item.kind == "frame":
                (changes if item.flags & shard.DELTA else whole).append(size)
            start = item.end
    return key, whole, changes


def recompressed(payloads: list[bytes]) -> list[dict[str, Any]]:
    """The frames compressed each way the store could have stored them: bytes per frame after the first,
    and CPU ms per frame."""
    ways: list[tuple[str, Any]] = [
        ("zlib -6 alone", lambda p: zlib.compress(p, 6)),
        ("zstd -9 alone", zstandard.ZstdCompressor(level=9).compress),
    ]
    key = shard.dictionary(payloads[0])
    for level in (3, 9, 19):
        ways.append((f"zstd -{level} + key", zstandard.ZstdCompressor(level=level, dict_data=key).compress))
    objects = [json.loads(p) for p in payloads]
    start = time.process_time()
    changes = [
        json.dumps(diff_frame(a, b), separators=(",", ":")).encode() for a, b in itertools.pairwise(objects)
    ]
    diff_ms = (time.process_time() - start) / len(changes) * 1000  # added to each way of the changes
    ways += [
        ("changes, zlib -6", lambda p: zlib.compress(p, 6)),
        ("changes, zlib -9", lambda p: zlib.compress(p, 9)),
        ("changes, zstd -9", zstandard.ZstdCompressor(level=9).compress),
    ]
    for level in (3, 9, 19):
        ways.append(
            (f"changes, zstd -{level} + key", zstandard.ZstdCompressor(level=level, dict_data=key).compress)
        )
    rows = []
    for name, compress in ways:
        start = time.process_time()
        sizes = [len(compress(p)) for p in (changes if name.startswith("changes") else payloads[1:])]
        spent = time.process_time() - start
        per_frame = sum(sizes) / len(sizes) + shard.HEADER.size
        spent_ms = spent / len(sizes) * 1000 + (diff_ms if name.startswith("changes") else 0.0)
        rows.append({"way": name, "bytes_per_frame": per_frame, "cpu_ms_per_frame": spent_ms})
    return rows


def measure(recorders: list[Recorder], seconds: float) -> list[dict[str, Any]]:
    before = {r.name: (cpu_seconds(r.proc.pid), r.size()) for r in recorders}
    start = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - start
    rows = []
    for r in recorders:
        cpu, size = before[r.name]
        used = cpu_seconds(r.proc.pid) - cpu
        rows.append(
            {"name": r.name, "cpu_percent": used / wall * 100, "bytes": r.size() - size, "wall_s": wall}
        )
    return rows


def run(args: argparse.Namespace) -> dict[str, Any]:
    cgscope, atop = console_script(), shutil.which("atop")
    if cgscope is None:
        raise LoadError("needs the cgscope console script")
    report: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    hierarchies = find_hierarchies(v1=not args.no_v1)
    with (
        tempfile.TemporaryDirectory(prefix="cgscope-bench-") as tmp,
        pid_capacity(args.processes, log),
        Load(args.processes, args.containers, 1.0, hierarchies, log=log) as load,
    ):
        report["load_containers"] = len(load.namespaced_groups())
        store = Path(tmp) / "history"
        interval = f"{args.interval:g}"  # atop takes whole seconds only
        argv = [cgscope, "record", "--interval", interval, "--dir", str(store)]
        recorders = [Recorder("cgscope record", argv, store)]
        if atop is not None:
            raw = Path(tmp) / "atop.raw"
            recorders.append(
                Recorder("atop -w", [atop, "-w", str(raw), str(max(1, round(args.interval)))], raw)
            )
        try:
            log(f"warm-up {args.warmup:g} s, then {args.seconds:g} s of recording every {args.interval:g} s")
            time.sleep(args.warmup)
            with Background.meter() as background:
                report["recorders"] = measure(recorders, args.seconds)
            report["other_cpus"] = round(background.other_cpus, 3)
        finally:
            for r in recorders:
                r.stop()
        frames = [e for e in read(store).entries if e.kind == "frame"]
        report["frames"] = len(frames)
        report["recorded_containers"] = len(decode(frames[-1].payload).inventory.containers)
        report["frame_json_bytes"] = sum(len(e.payload) for e in frames) / len(frames)
        key, whole, changes = store_sizes(store)
        report["ways"] = recompressed([e.payload for e in frames])
        if not whole:  # the measured stretch held no ANCHOR-th frame: as the store would write it
            whole = [round(next(w for w in report["ways"] if w["way"] == "zstd -9 + key")["bytes_per_frame"])]
        report["key_frame_bytes"], report["change_bytes"] = key, sum(changes) / len(changes)
        report["whole_frame_bytes"] = sum(whole) / len(whole)
        anchors = PER_SHARD // shard.ANCHOR
        shard_bytes = (
            key + (anchors - 1) * report["whole_frame_bytes"] + (PER_SHARD - anchors) * report["change_bytes"]
        )
        rolled = rollups_of(shards(store)[0]).read_bytes()  # a day: 24 x 60 minutes' and 24 hours' rollups
        entries = [r for r in shard.scan(rolled) if isinstance(r, shard.Record)]
        report["rollup_bytes_per_day"] = len(rolled) / len(entries) * 24 * 61
        report["bytes_per_day"] = (
            DAY / PER_SHARD / args.interval * shard_bytes + report["rollup_bytes_per_day"]
        )
    return report


def print_report(report: dict[str, Any]) -> None:
    interval = report["args"]["interval"]
    print(f"machine: {report['machine']}; other work on the machine: {report['other_cpus']} CPUs")
    print(f"load: {report['load_containers']} containers made, {report['recorded_containers']} recorded "
          f"(the host's own too); {report['frames']} frames at {interval:g} s")  # fmt: skip
    print(f"{'recorder':<16} {'CPU % of a core':>16} {'bytes/sample':>13} {'MB/day':>8}")
    for r in report["recorders"]:
        samples = r["wall_s"] / interval
        per_day = r["bytes"] / samples * DAY / interval / 1e6
        print(f"{r['name']:<16} {r['cpu_percent']:>16.2f} {r['bytes'] / samples:>13.0f} {per_day:>8.1f}")
    print(f"cgscope store: frame JSON {report['frame_json_bytes']:.0f} B; key frame "
          f"{report['key_frame_bytes']} B, whole frames {report['whole_frame_bytes']:.0f} B, changes "
          f"{report['change_bytes']:.0f} B each; a day (hourly shards, rollups "
          f"{report['rollup_bytes_per_day'] / 1e6:.1f} MB): "
          f"{report['bytes_per_day'] / 1e6:.1f} MB (goal <= {GOAL_MB_PER_DAY:g})")  # fmt: skip
    print(f"{'the same frames':<18} {'bytes/frame':>12} {'MB/day':>8} {'CPU ms/frame':>13}")
    for w in report["ways"]:
        per_day = w["bytes_per_frame"] * DAY / interval / 1e6
        print(f"{w['way']:<18} {w['bytes_per_frame']:>12.0f} {per_day:>8.1f} {w['cpu_ms_per_frame']:>13.2f}")
    ours = next(r for r in report["recorders"] if r["name"] == "cgscope record")
    print(f"cgscope record: {ours['cpu_percent']:.2f} % of one core (goal <= {GOAL_CPU_PERCENT:g})")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--processes", type=int, default=2000, help="processes in the load (default 2000)")
    p.add_argument("--containers", type=int, default=200, help="cgroups in the load (default 200)")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between samples (default 5)")
    p.add_argument("--seconds", type=float, default=120.0, help="measured period (default 120)")
    p.add_argument("--warmup", type=float, default=12.0, help="seconds before measuring (default 12)")
    p.add_argument("--no-v1", action="store_true", help="make the load's cgroups in the cgroup2 tree only")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("needs root (the load makes cgroups; the recorder reads every process)")
        return 1
    stop_on_signals()
    return finish(lambda: run(args), args.json, print_report)


if __name__ == "__main__":
    sys.exit(main())
