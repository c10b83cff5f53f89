"""One shard of the store: an hour of entries, each a checked header and a zstd-compressed payload.

An entry on disk (little-endian, docs/history.md "Format"):

    magic "CGHE" | format u8 | kind u8 | flags u16 | at f64 | length u32 | payload CRC32 u32
    | header CRC32 u32
    payload: `length` bytes, a zstd frame

The header's CRC covers the 24 bytes before it, so a length is trusted only when its header is whole; the
payload's CRC tells a torn or overwritten payload. The first frame of a shard is its key frame: its
payload, once decompressed, is the zstd dictionary (raw content) of every later entry of the shard, which
then stores only what changed against it — consecutive frames of one host repeat most of their text.
From format 2, a frame given as its JSON object is stored as its change from the shard's frame before
it (history/delta.py), except every ANCHOR-th, stored whole (against the key frame): a frame is read
from at most ANCHOR - 1 changes, and a damaged entry costs at most the frames up to the next whole one.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import zstandard

from cgscope.history.delta import diff_frame

MAGIC = b"CGHE"
FORMAT = 2  # what this cgscope writes; it reads READS
READS = (1, 2)  # 2: frames stored as changes (DELTA)
HEADER = struct.Struct("<4sBBHdIII")
KINDS = ("frame", "event", "summary")  # a kind's number is its place here; summaries: history/rollup.py
KEY = 1  # flags: this entry is the shard's key frame
DICT = 2  # flags: compressed with the shard's dictionary
DELTA = 4  # flags: a frame stored as its change from the shard's frame before it (format 2)
ANCHOR = 60  # every ANCHOR-th frame of a shard is stored whole: 5 minutes at 5 s
LEVEL = 9  # zstd level: docs/history.md has the sizes and the recorder's CPU at levels 3 to 19
SUFFIX = ".cgh"


@dataclass(frozen=True)
class Record:
    """An entry as the shard holds it, its payload still compressed."""

    kind: str
    flags: int
    at: float
    body: bytes
    end: int  # the offset just past it


@dataclass(frozen=True)
class Damage:
    """Bytes that hold no readable entry: `start` to `end`; `tail` when nothing readable follows."""

    start: int
    end: int
    tail: bool
    why: str


def pack(kind: str, flags: int, at: float, body: bytes) -> bytes:
    head = HEADER.pack(MAGIC, FORMAT, KINDS.index(kind), flags, at, len(body), zlib.crc32(body), 0)
    return head[:-4] + struct.pack("<I", zlib.crc32(head[:-4])) + body


def _header(data: bytes, offset: int) -> tuple[int, int, int, float, int, int] | None:
    """(format, kind, flags, at, length, payload CRC) of a whole header at `offset`, else None."""
    if offset + HEADER.size > len(data):
        return None
    magic, version, kind, flags, at, length, crc, head_crc = HEADER.unpack_from(data, offset)
    if magic != MAGIC or zlib.crc32(data[offset : offset + HEADER.size - 4]) != head_crc:
        return None
    return version, kind, flags, at, length, crc


def scan(data: bytes) -> Iterator[Record | Damage]:
    """Every entry of a shard's bytes in order, and the damaged stretches between them: after a bad
    header the scan looks for the next whole header (a write torn by a crash, then resumed)."""
    offset = 0
    while offset < len(data):
        head = _header(data, offset)
        if head is None:
            found = _next_header(data, offset + 1)
            yield Damage(offset, found, found == len(data), "no whole entry header")
            offset = found
            continue
        version, kind, flags, at, length, crc = head
        end = offset + HEADER.size + length
        if version not in READS or kind >= len(KINDS):
            yield Damage(offset, len(data), True, f"format {version} (kind {kind}): newer than this cgscope")
            return
        if end > len(data):
            yield Damage(offset, len(data), True, "an entry cut short")
            return
        body = data[offset + HEADER.size : end]
        if zlib.crc32(body) != crc:
            yield Damage(offset, end, end == len(data), "payload CRC mismatch")
        else:
            yield Record(KINDS[kind], flags, at, body, end)
        offset = end


def _next_header(data: bytes, offset: int) -> int:
    """The offset of the next whole header at or after `offset`, else the end of `data`."""
    while (offset := data.find(MAGIC, offset)) != -1:
        if _header(data, offset) is not None:
            return offset
        offset += 1
    return len(data)


def dictionary(key_payload: bytes) -> zstandard.ZstdCompressionDict:
    """The shard's dictionary: its key frame's payload as raw content (no training: the next frame of
    the same host is the best predictor of its text)."""
    return zstandard.ZstdCompressionDict(key_payload, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


class Packer:
    """Compresses the entries of one shard: the first frame plainly as its key, the rest against it, and a
    frame given as its object as its change from the frame stored before it."""

    def __init__(self) -> None:
        self._plain = zstandard.ZstdCompressor(level=LEVEL)
        self._with_key: zstandard.ZstdCompressor | None = None
        self._last: Mapping[str, Any] | None = None  # the frame stored last, while a change can follow it
        self._changes = 0  # frames stored as changes since the last one stored whole

    def set_key(self, key_payload: bytes) -> None:
        self._with_key = zstandard.ZstdCompressor(level=LEVEL, dict_data=dictionary(key_payload))

    def pack(self, kind: str, at: float, payload: bytes) -> bytes:
        """The entry's bytes, its payload whole."""
        if self._with_key is None:
            return pack(kind, KEY if kind == "frame" else 0, at, self._plain.compress(payload))
        return pack(kind, DICT, at, self._with_key.compress(payload))

    def change(self, at: float, frame: Mapping[str, Any] | None) -> bytes | None:
        """The entry of a frame (its object, history/codec.py) as its change from the frame stored last;
        None when it is to be stored whole: the shard's first, every ANCHOR-th, one after a refusal."""
        if frame is None or self._with_key is None or self._last is None or self._changes >= ANCHOR - 1:
            return None
        change = json.dumps(diff_frame(self._last, frame), ensure_ascii=True, separators=(",", ":"))
        return pack("frame", DICT | DELTA, at, self._with_key.compress(change.encode("ascii")))

    def stored(self, kind: str, frame: Mapping[str, Any] | None, whole: bytes | None) -> None:
        """The entry made of these was written: `whole`, its payload if pack() made it (change() did not)."""
        if kind != "frame":
            return
        self._changes = 0 if whole is not None else self._changes + 1
        if self._with_key is None and whole is not None:
            self.set_key(whole)
        self._last = frame


class Unpacker:
    """Decompresses the entries of one shard, in order."""

    def __init__(self) -> None:
        self._plain = zstandard.ZstdDecompressor()
        self._with_key: zstandard.ZstdDecompressor | None = None

    def unpack(self, record: Record) -> bytes | None:
        """The payload; None when it cannot be decompressed (its key frame is damaged, or it is)."""
        try:
            if record.flags & DICT:
                if self._with_key is None:
                    return None
                return self._with_key.decompress(record.body)
            payload = self._plain.decompress(record.body)
        except zstandard.ZstdError:
            return None
        if record.flags & KEY:
            self._with_key = zstandard.ZstdDecompressor(dict_data=dictionary(payload))
        return payload
