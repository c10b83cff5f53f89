"""`cgscope record`: the containers view and the host, sampled every S seconds into a store
(docs/history.md)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from cgscope.commands import Commands, seconds
from cgscope.fs.hostroot import HostRoot

if TYPE_CHECKING:
    from cgscope.history.store import Entry, Writer

DEFAULT_INTERVAL = 5.0
DEFAULT_RETAIN = "7d"
DEFAULT_MAX_SIZE = "1G"
# The containers' limits (cpuset, CFS quota, memory.max, pids.max) are read again at most this often,
# not every frame: a few files a container fewer on most frames; a limit_changed is told within it.
LIMITS_SECONDS = 30.0
_AGE_UNITS = {"d": 86400, "h": 3600, "m": 60}  # how an age is said back


def register(commands: Commands) -> None:
    parser = commands.add(
        "record",
        "record the containers' usage, limits and events every S seconds, for `cgscope report` and "
        "`cgscope replay` (see docs/history.md)",
        record,
        json_output=False,
        schema="docs/history.md",
    )
    parser.add_argument(
        "--interval",
        type=seconds,
        default=DEFAULT_INTERVAL,
        metavar="S",
        help=f"seconds between two frames (default {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the store (default $CGSCOPE_STATE/history, or /var/lib/cgscope/history for root)",
    )
    parser.add_argument(
        "--retain",
        type=duration,
        default=duration(DEFAULT_RETAIN),
        metavar="AGE",
        help=f"drop history older than AGE, by whole hours (default {DEFAULT_RETAIN}; 90m, 12h, 2w)",
    )
    parser.add_argument(
        "--max-size",
        type=_size,
        default=_size(DEFAULT_MAX_SIZE),
        metavar="SIZE",
        help=f"drop the oldest hours while the store is larger (default {DEFAULT_MAX_SIZE}; 500M; "
        "max: no cap)",
    )


def duration(text: str) -> float:
    """Seconds from "7d", "12h", "90m", "1h30m", "30s" or a number of seconds (history/when.py)."""
    from cgscope.history.when import duration as seconds_of

    value = seconds_of(text)
    if value is None or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age such as 7d, 12h, 90m or 3600 (seconds)")
    return value


def _age(s: float) -> str:
    for unit, size in _AGE_UNITS.items():
        if s >= size and s % size == 0:
            return f"{s / size:g}{unit}"
    return f"{s:g}s"


def _size(text: str) -> int:
    from cgscope.control.errors import InvalidRequest
    from cgscope.control.values import MAX, parse_size

    try:
        value = parse_size(text, "--max-size")
    except InvalidRequest as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return 0 if value == MAX else value


def default_dir() -> Path:
    from cgscope.control.journal import state_dir

    return state_dir() / "history"


def record(args: argparse.Namespace, host: HostRoot, out: TextIO) -> int:
    from cgscope.history.store import Writer

    directory = args.dir if args.dir is not None else default_dir()
    writer = Writer.open(directory, retain_s=args.retain, max_bytes=args.max_size)
    stop = threading.Event()

    def ended(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, ended) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        Recorder(host, writer, args.quiet).run(args.interval, stop)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        writer.close()
    return 0


class Recorder:
    """Samples, detects events, stores; says once what it cannot do, and goes on."""

    def __init__(self, host: HostRoot, writer: Writer, quiet: bool) -> None:
        from cgscope.fs.kmsg import KernelLog
        from cgscope.history.events import Detector
        from cgscope.sampling.grouping import UNWATCHED_REGROUP_SECONDS
        from cgscope.sampling.sampler import Sampler

        self.sampler = Sampler(host, LIMITS_SECONDS, UNWATCHED_REGROUP_SECONDS)
        self.writer, self.quiet = writer, quiet
        log = KernelLog()
        if log.error is not None and not quiet:
            self.say(f"the victims of OOM kills will be unknown: {log.error}")
        self.detector = Detector(log)
        self._failing: str | None = None  # what the store last refused, while it refuses
        self._lost = 0
        self._said: set[str] = set()

    def say(self, text: str) -> None:
        print(f"cgscope record: {text}", file=sys.stderr, flush=True)

    def run(self, interval: float, stop: threading.Event) -> None:
        from cgscope.errors import CgscopeError
        from cgscope.history.store import Entry, frame_entry
        from cgscope.units import size

        cap = f", at most {size(self.writer.max_bytes)}" if self.writer.max_bytes else ""
        if not self.quiet:
            self.say(
                f"recording every {interval:g} s in {self.writer.directory} "
                f"(keeping {_age(self.writer.retain_s)}{cap})"
            )
        prev = None
        due = time.monotonic()
        while not stop.is_set():
            try:
                frame = self.sampler.sample(())
            except CgscopeError as exc:  # the host changed under the read: said once, tried again
                self._once(str(exc))
            else:
                events = self.detector.step(prev, frame)
                self.store(frame_entry(frame))
                for event in events:
                    self.store(Entry(event.at, "event", event.to_json()))
                prev = frame
            due = max(due + interval, time.monotonic())  # a slow frame delays the next, never bunches them
            stop.wait(due - time.monotonic())

    def store(self, entry: Entry) -> None:
        from cgscope.history.store import Unwritable

        try:
            self.writer.append(entry)
        except Unwritable as exc:
            self._lost += 1
            if self._failing != str(exc):
                self._failing = str(exc)
                self.say(f"{exc}: nothing is stored until it can be; sampling goes on")
            return
        if self._failing is not None:
            self.say(f"writing {self.writer.directory} again ({self._lost} entries could not be stored)")
            self._failing, self._lost = None, 0

    def _once(self, text: str) -> None:
        if text not in self._said:
            self._said.add(text)
            self.say(text)
