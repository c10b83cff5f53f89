"""A cgroup's block I/O: bytes and operations per device (v2 io.stat, v1 blkio.throttle.*).

Formats: Documentation/admin-guide/cgroup-v2.rst (io.stat), cgroup-v1/blkio-controller.rst.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import InvalidFormat
from cgscope.fs.files import StrPath, child, read_optional, read_text
from cgscope.fs.parse import device, integer

Device = tuple[int, int]  # (major, minor)
_IO_KEYS = ("rbytes", "wbytes", "rios", "wios", "dbytes", "dios")  # IoDevice's fields, in order
_THROTTLE_KEYS = ("Read bytes", "Write bytes", "Read ops", "Write ops", "Discard bytes", "Discard ops")


@dataclass(frozen=True, slots=True)
class IoDevice:
    """Bytes and operations one cgroup did on one block device, since the cgroup was created."""

    read_bytes: int = 0
    write_bytes: int = 0
    read_ops: int = 0
    write_ops: int = 0
    discard_bytes: int = 0
    discard_ops: int = 0


def io_stat(text: str, path: StrPath) -> dict[Device, IoDevice]:
    """v2 io.stat: "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0". Other keys
    (io.cost's "cost.vrate=100.00", iolatency's "avg_lat=...") are left alone."""
    out: dict[Device, IoDevice] = {}
    for line in text.splitlines():
        dev, *fields = line.split(" ")
        values: dict[str, int] = {}
        for f in fields:
            key, sep, value = f.partition("=")
            if not sep:
                raise InvalidFormat(path, line)
            if key in _IO_KEYS:
                values[key] = integer(value, path, line)
        out[device(dev, path, line)] = IoDevice(*(values.get(k, 0) for k in _IO_KEYS))
    return out


def blkio_throttle(
    service_bytes: str, serviced: str, paths: tuple[StrPath, StrPath]
) -> dict[Device, IoDevice]:
    """v1 blkio.throttle.io_service_bytes_recursive and .io_serviced_recursive: "8:0 Read 4096" lines,
    then a "Total N" line. The throttling layer counts every bio, whatever the I/O scheduler."""
    counts: dict[Device, dict[str, int]] = {}
    for kind, text, path in (("bytes", service_bytes, paths[0]), ("ops", serviced, paths[1])):
        for line in text.splitlines():
            fields = line.split(" ")
            if len(fields) == 2 and fields[0] == "Total":
                integer(fields[1], path, line)
                continue
            if len(fields) != 3:
                raise InvalidFormat(path, line)
            counts.setdefault(device(fields[0], path, line), {})[f"{fields[1]} {kind}"] = integer(
                fields[2], path, line
            )
    return {dev: IoDevice(*(c.get(name, 0) for name in _THROTTLE_KEYS)) for dev, c in counts.items()}


def io_file(directory: Path, version: int) -> str:
    """The file a cgroup's I/O bytes are read from: v2 io.stat, v1 blkio's bytes serviced."""
    return child(directory, "io.stat" if version == 2 else "blkio.throttle.io_service_bytes_recursive")


def read_io(directory: Path, version: int) -> dict[Device, IoDevice] | None:
    """The cgroup's I/O per device; None where the io (blkio) controller is off. Each file is one
    seq_show() (fs/files._read_all's `whole`): kept open where a keeping() block is."""
    if version == 2:
        path = io_file(directory, 2)
        text = read_optional(path, whole=True)
        return None if text is None else io_stat(text, path)
    bytes_path = io_file(directory, 1)
    ops_path = child(directory, "blkio.throttle.io_serviced_recursive")
    service_bytes = read_optional(bytes_path, whole=True)
    if service_bytes is None:
        return None
    return blkio_throttle(service_bytes, read_text(ops_path, whole=True), (bytes_path, ops_path))
