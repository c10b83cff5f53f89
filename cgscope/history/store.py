"""The on-disk store of `cgscope record`: a directory of append-only hourly shards (history/shard.py).

One writer at a time holds an flock(2) on the directory itself (which works on a read-only directory
too) and leaves its pid in `recorder.pid` for the one it refuses. An entry is one write(2) to a shard
opened for it and closed after: a kill -9 loses at most the entry being written, and no file stays
open for writing between entries (a full or read-only filesystem can be freed or remounted meanwhile).
Old history goes by whole shards, oldest first (--retain, --max-size): nothing written is rewritten.
Beside each shard, its rollup file (ROLLUPS) holds the rollups of its frames' minutes and hour
(history/rollup.py), which a cgscope that knows no rollups never opens.
"""

from __future__ import annotations

import calendar
import fcntl
import os
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from cgscope.errors import CgscopeError
from cgscope.history import codec, rollup, shard
from cgscope.history.index import Stored, index_shard, records
from cgscope.sampling.frame import Frame

PID_FILE = "recorder.pid"
ROLLUPS = ".cgr"  # a shard's rollup file: its name with this suffix
HOUR = 3600


@dataclass(frozen=True)
class Entry:
    at: float  # time.time() of the frame or the event
    kind: Literal["frame", "event"]
    data: bytes | None  # codec.encode of a frame, Event.to_json of an event; None: made of `frame`
    # A frame's JSON object (codec.frame_object): the store keeps most frames as their change from the one
    # before and rolls them up from it. Without it, the frame is stored whole.
    frame: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @cached_property
    def payload(self) -> bytes:
        """The entry's JSON (a frame's is made only if stored whole: most are stored as a change)."""
        if self.data is not None:
            return self.data
        assert self.frame is not None
        return codec.dumps(self.frame)


def frame_entry(frame: Frame) -> Entry:
    """A sampled frame as the store takes it."""
    return Entry(frame.taken_at, "frame", None, codec.frame_object(frame))


@dataclass
class Reading:
    entries: list[Entry] = field(default_factory=list)  # in time order
    warnings: list[str] = field(default_factory=list)  # one line each: a torn tail, a CRC mismatch


@dataclass
class Index:
    """A reading whose payloads are decompressed when read (history/index.py)."""

    entries: list[Stored] = field(default_factory=list)  # frames and events, in time order
    warnings: list[str] = field(default_factory=list)
    rollups: list[rollup.Head] = field(default_factory=list)  # wholly inside the time asked for


class Unwritable(CgscopeError):
    """The store's filesystem refused an entry (full, read-only, denied): it was not stored."""


def shard_name(at: float) -> str:
    """The shard an entry at `at` goes to: its UTC hour, YYYYMMDDTHH.cgh."""
    return time.strftime("%Y%m%dT%H", time.gmtime(at)) + shard.SUFFIX


def shard_start(name: str) -> float | None:
    """The first second of a shard's hour; None for a file that is no shard."""
    if not name.endswith(shard.SUFFIX):
        return None
    try:
        return float(calendar.timegm(time.strptime(name.removesuffix(shard.SUFFIX), "%Y%m%dT%H")))
    except ValueError:
        return None


def rollups_of(path: Path) -> Path:
    return path.with_suffix(ROLLUPS)


def shards(directory: Path) -> list[Path]:
    """The store's shards, oldest first."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [directory / n for n in sorted(names) if shard_start(n) is not None]


class Writer:
    """Appends entries to a store; the only one writing it while it is open."""

    def __init__(self, directory: Path, lock: int, retain_s: float, max_bytes: int) -> None:
        self.directory, self._lock = directory, lock
        self.retain_s, self.max_bytes = retain_s, max_bytes
        self._shard: Path | None = None
        self._end = 0  # the length of the current shard's readable entries
        self._others = 0  # the bytes of every other shard, as rotate() last counted them
        self._packer = shard.Packer()
        self._roller = rollup.Roller()

    @classmethod
    def open(cls, directory: Path, *, retain_s: float, max_bytes: int) -> Writer:
        """Takes the store's lock; CgscopeError if another writer holds it or DIR cannot be made."""
        try:
            directory.mkdir(parents=True, exist_ok=True)
            lock = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise CgscopeError(f"cannot record in {directory}: {exc.strerror}") from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock)
            raise CgscopeError(
                f"{directory} is being recorded by {_holder(directory)}: one recorder per store "
                "(stop it, or give another --dir)"
            ) from None
        with suppress(OSError):  # a read-only store: the lock holds all the same, and appends say why
            (directory / PID_FILE).write_text(f"{os.getpid()}\n")
        return cls(directory, lock, retain_s, max_bytes)

    def append(self, entry: Entry) -> None:
        """Stores the entry; Unwritable (nothing of it left in the shard) when the filesystem refuses."""
        for at, payload in self._roller.due(entry.at) if entry.kind == "frame" else []:
            self._store_rollup(at, payload)
        name = shard_name(entry.at)
        if self._shard is None or self._shard.name != name:
            self._resume(self.directory / name)
        assert self._shard is not None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)  # removed under the recorder: made again
            fd = os.open(self._shard, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise self._unwritable(exc) from None
        try:
            if os.fstat(fd).st_size != self._end:  # changed behind our back (removed, or cut)
                self._resume(self._shard)
            change = self._packer.change(entry.at, entry.frame) if entry.kind == "frame" else None
            data = change if change is not None else self._packer.pack(entry.kind, entry.at, entry.payload)
            self._write_at_end(fd, data)
        finally:
            os.close(fd)
        self._end += len(data)
        self._packer.stored(entry.kind, entry.frame, None if change is not None else entry.payload)
        if entry.kind == "frame":
            self._roller.add(entry.at, entry.payload if entry.frame is None else entry.frame)
        if self._end == len(data) or self._others + self._end > self.max_bytes > 0:
            self.rotate(entry.at)  # at a new shard, or once the store outgrows max_bytes

    def _write_at_end(self, fd: int, data: bytes) -> None:
        try:
            os.lseek(fd, self._end, os.SEEK_SET)
            written = os.write(fd, data)
            while written < len(data):  # short only when the disk fills: the next write says so
                written += os.write(fd, data[written:])
        except OSError as exc:
            with suppress(OSError):
                os.ftruncate(fd, self._end)  # no half entry left for the reader to skip
            raise self._unwritable(exc) from None

    def _store_rollup(self, at: float, payload: bytes) -> None:
        """Appends a rollup to the current shard's rollup file, in one write(2) as an entry; a refusal loses
        the rollup alone (the report reads its frames)."""
        assert self._shard is not None
        data = self._packer.pack("summary", at, payload)
        try:
            fd = os.open(
                rollups_of(self._shard), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644
            )
        except OSError:
            return
        with suppress(OSError):
            end = os.fstat(fd).st_size
            try:
                whole = os.write(fd, data) == len(data)
            except OSError:
                whole = False
            if not whole:
                os.ftruncate(fd, end)  # no half rollup left behind
        os.close(fd)

    def _unwritable(self, exc: OSError) -> Unwritable:
        """Any refusal (ENOSPC, EDQUOT, EROFS, EACCES, EIO, ...): said, and the entry not stored."""
        return Unwritable(f"cannot write {self.directory}: {exc.strerror or exc}")

    def _resume(self, path: Path) -> None:
        """Continues `path` after its last readable entry (a torn tail is cut off), with its key."""
        self._shard, self._end, self._packer = path, 0, shard.Packer()
        self._roller.reset()  # the frames rolled up so far may be gone with the shard, or cut off
        self._others = sum(_size(p) for p in shards(self.directory) if p != path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            with suppress(OSError):
                rollups_of(path).unlink(missing_ok=True)  # of frames gone with the shard
            return
        except OSError as exc:
            raise self._unwritable(exc) from None
        unpacker = shard.Unpacker()
        for item in shard.scan(data):
            if isinstance(item, shard.Record):
                self._end = item.end
                payload = unpacker.unpack(item)
                if item.flags & shard.KEY and payload is not None:
                    self._packer.set_key(payload)
        if self._end < len(data):
            try:
                os.truncate(path, self._end)
            except OSError as exc:
                raise self._unwritable(exc) from None

    def rotate(self, now: float) -> None:
        """Removes whole shards: those older than retain_s, then the oldest while the store holds more than
        max_bytes. The shard being written stays."""
        kept = [p for p in shards(self.directory) if p != self._shard]
        for path in list(kept):
            start = shard_start(path.name)
            if self.retain_s and start is not None and start + HOUR <= now - self.retain_s:
                _remove(path)
                kept.remove(path)
        self._others = sum(_size(p) for p in kept)
        while kept and self.max_bytes and self._others + self._end > self.max_bytes:
            oldest = kept.pop(0)
            self._others -= _size(oldest)
            _remove(oldest)

    def close(self) -> None:
        for at, payload in self._roller.take() if self._shard is not None else []:
            self._store_rollup(at, payload)
        if self._lock >= 0:
            with suppress(OSError):
                (self.directory / PID_FILE).unlink(missing_ok=True)
            os.close(self._lock)
            self._lock = -1


def _holder(directory: Path) -> str:
    try:
        return f"pid {int((directory / PID_FILE).read_text())}"
    except (OSError, ValueError):
        return "another process"


def _size(path: Path) -> int:
    """A shard's bytes, its rollups' included."""
    total = 0
    for p in (path, rollups_of(path)):
        with suppress(OSError):
            total += p.stat().st_size
    return total


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    rollups_of(path).unlink(missing_ok=True)


def index(
    directory: Path, since: float | None = None, until: float | None = None, *, rollups: bool = False
) -> Index:
    """Every readable entry from `since` to `until` (time.time()), in time order, its payload read when
    asked for; damaged stretches are skipped with one warning each. With `rollups`, the rollups wholly
    inside that time too (one that cannot be read is left out: its frames are there)."""
    found = shards(directory)
    if not found:
        raise CgscopeError(f"no history in {directory}: run `cgscope record --dir {directory}`")
    out = Index()
    for path in found:
        start = shard_start(path.name)
        assert start is not None
        if (since is not None and start + HOUR <= since) or (until is not None and start > until):
            continue
        part = index_shard(path, since, until)
        out.entries += part.entries
        out.warnings += part.warnings
        for record in records(rollups_of(path)) if rollups else []:
            try:
                r = rollup.decode(part.source.payload(record))
            except CgscopeError:
                continue
            if (since is None or r.span[0] >= since) and (until is None or r.span[1] <= until):
                out.rollups.append(r)
    out.entries.sort(key=lambda e: e.at)
    return out


def read(directory: Path, since: float | None = None, until: float | None = None) -> Reading:
    """Every readable entry from `since` to `until` (time.time()), decompressed, in time order; damaged
    stretches are skipped with one warning each."""
    found = index(directory, since, until)
    reading = Reading(warnings=found.warnings)
    for e in found.entries:
        try:
            reading.entries.append(Entry(e.at, "frame" if e.kind == "frame" else "event", e.payload))
        except CgscopeError as exc:
            reading.warnings.append(str(exc))
    return reading
