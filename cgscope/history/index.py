"""A shard read without decompressing its frames: every entry's header and payload CRC are checked and its
key frame decompressed (the dictionary of the rest), and a payload is decompressed only when it is asked
for. A day is 17,280 frames of 166 KB each once decompressed; replay shows one and report reads a few."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cgscope.errors import CgscopeError
from cgscope.history import shard


class Source:
    """One shard's decompression, shared by its entries (and by the rollups of its hour)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._unpacker = shard.Unpacker()
        self._key: bytes | None = None
        self._lock = threading.Lock()  # a decompressor is not to be used by two threads at once

    def start(self, record: shard.Record) -> bool:
        """Reads `record` in scan order, at once only if it is a key frame: False when it cannot be read
        (its key frame is damaged, or it is)."""
        if record.flags & shard.KEY:
            self._key = self._unpacker.unpack(record)
            return self._key is not None
        return not (record.flags & shard.DICT) or self._key is not None

    def payload(self, record: shard.Record) -> bytes:
        if record.flags & shard.KEY and self._key is not None:
            return self._key
        with self._lock:
            found = self._unpacker.unpack(record)
        if found is None:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.at))
            raise CgscopeError(f"{self.path}: the entry at {when} cannot be decompressed")
        return found


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
        found.warnings.append(f"{path}: {lost} entries skipped (their key frame is damaged)")
    return found


def records(path: Path) -> list[shard.Record]:
    """The whole entries of a file of the shards' framing; none when it is missing or unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    return [r for r in shard.scan(data) if isinstance(r, shard.Record)]
