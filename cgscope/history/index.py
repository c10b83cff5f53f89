"""A shard read without decompressing its frames: every entry's header and payload CRC are checked and its
key frame decompressed (the dictionary of the rest), and a payload is decompressed only when it is asked
for. A day is 17,280 frames of 166 KB each once decompressed; replay shows one and report reads a few."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cgscope.errors import CgscopeError
from cgscope.history import shard
from cgscope.history.delta import patch_frame
from cgscope.history.fields import bad, obj


class Source:
    """One shard's decompression, shared by its entries (and by the rollups of its hour): a frame stored as
    a change is read from the frame before it, itself perhaps a change, back to one stored whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._unpacker = shard.Unpacker()
        self._key: bytes | None = None
        self._last: shard.Record | None = None  # the frame before the next, while changes can follow it
        self._before: dict[int, shard.Record] = {}  # a change's frame before it, by the change's end
        self._made: dict[int, Mapping[str, Any]] = {}  # the frames read last, by their end: the next follow
        self._lock = threading.Lock()  # a decompressor is not to be used by two threads at once

    def start(self, record: shard.Record) -> bool:
        """Reads `record` in scan order, at once only if it is a key frame: False when it cannot be read
        (its key frame is damaged, or it is, or the frame it is a change of)."""
        if record.flags & shard.KEY:
            self._key = self._unpacker.unpack(record)
            readable = self._key is not None
        elif record.flags & shard.DELTA:
            readable = self._last is not None
            if self._last is not None:
                self._before[record.end] = self._last
        else:
            readable = not (record.flags & shard.DICT) or self._key is not None
        if record.kind == "frame":
            self._last = record if readable else None
        return readable

    def lose(self) -> None:
        """A damaged stretch: the change after it may be of a frame it held."""
        self._last = None

    def payload(self, record: shard.Record) -> bytes:
        if record.flags & shard.DELTA:
            return json.dumps(self.frame(record), ensure_ascii=True, separators=(",", ":")).encode("ascii")
        if record.flags & shard.KEY and self._key is not None:
            return self._key
        with self._lock:
            return self._unpack(record)

    def frame(self, record: shard.Record) -> Mapping[str, Any]:
        """A frame's JSON object; CgscopeError when it cannot be read."""
        with self._lock:
            changes = []
            while record.flags & shard.DELTA and record.end not in self._made:
                changes.append(record)
                record = self._before[record.end]
            found = self._made.get(record.end)
            if found is None:
                found = _object(self._key if record.flags & shard.KEY and self._key else self._unpack(record))
            for change in reversed(changes):
                found = patch_frame(found, _object(self._unpack(change)))
            self._made = {(changes[0] if changes else record).end: found}
            return found

    def _unpack(self, record: shard.Record) -> bytes:
        found = self._unpacker.unpack(record)
        if found is None:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.at))
            raise CgscopeError(f"{self.path}: the entry at {when} cannot be decompressed")
        return found


def _object(data: bytes) -> Mapping[str, Any]:
    try:
        return obj(json.loads(data), "frame")
    except (UnicodeDecodeError, ValueError, RecursionError):
        bad("not JSON")


@dataclass(frozen=True, eq=False)
class Stored:
    """An entry of a shard, its payload decompressed when read (CgscopeError if it cannot be)."""

    at: float
    kind: str
    record: shard.Record
    source: Source

    @property
    def payload(self) -> bytes:
        return self.source.payload(self.record)

    @property
    def frame(self) -> Mapping[str, Any]:
        """A frame's JSON object (history/codec.py), not yet checked."""
        return self.source.frame(self.record)


@dataclass
class Indexed:
    source: Source
    entries: list[Stored] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def index_shard(path: Path, since: float | None, until: float | None) -> Indexed:
    """The readable entries of one shard from `since` to `until`; damaged stretches said one line each."""
    found = Indexed(Source(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        found.warnings.append(f"{path}: unreadable ({exc.strerror}), skipped")
        return found
    lost = 0
    for item in shard.scan(data):
        if isinstance(item, shard.Damage):
            found.source.lose()
            what = "torn tail" if item.tail and item.why == "an entry cut short" else item.why
            found.warnings.append(
                f"{path}: bytes {item.start}-{item.end} skipped ({what}; {item.end - item.start} bytes)"
            )
        elif not found.source.start(item):
            lost += 1
        elif (
            item.kind != "summary"
            and (since is None or item.at >= since)
            and (until is None or item.at <= until)
        ):
            found.entries.append(Stored(item.at, item.kind, item, found.source))
    if lost:
        why = "the frame they were stored against is damaged"
        found.warnings.append(f"{path}: {lost} entries skipped ({why})")
    return found


def records(path: Path) -> list[shard.Record]:
    """The whole entries of a file of the shards' framing; none when it is missing or unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    return [r for r in shard.scan(data) if isinstance(r, shard.Record)]
