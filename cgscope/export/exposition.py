"""A Reading as the Prometheus text format (0.0.4) or OpenMetrics 1.0.0, byte for byte as
prometheus_client's generate_latest writes the same families (tests/test_export_format.py checks it).

prometheus_client's own writers build an object per sample and escape every label of every sample:
~170 ms of CPU for 200 containers (7,000 series) on this project's test machine, where a scrape should
cost under 10 ms. Here a cgroup's label set is escaped once, while the cgroup stays the same, and a line
costs one format of its value (prometheus_client's floatToGoString).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import cast

from prometheus_client import utils

from cgscope.export.metrics import (
    ALL_FAMILIES,
    CGROUP_FAMILIES,
    CONTAINER_INFO,
    MACHINE_CPU_CORES,
    MACHINE_MEMORY,
    SAMPLES,
    SCRAPE_CPU,
    SCRAPE_DURATION,
    Extra,
    Family,
)
from cgscope.export.source import Info, Labels, Reading

number = cast(Callable[[float], str], utils.floatToGoString)  # a value as Go's Prometheus clients write it
_SURROGATE = re.compile("[\ud800-\udfff]")  # what is left of a byte that was not UTF-8 (surrogateescape)
_TEXT_TYPES = {"counter": "counter", "gauge": "gauge", "unknown": "untyped", "info": "gauge"}


@dataclass(frozen=True)
class Cost:
    """The exporter's own figures, served with each scrape."""

    samples: int
    cpu_seconds: float


def escape(value: str) -> str:
    """A label value as both formats quote it: backslash, newline and double quote escaped. Both are
    UTF-8: a byte of a host's name that was not (fs/files decodes with surrogateescape) is written as
    "\\xff", as cgscope's tables show it (render/table.visible), and its backslash escaped as any."""
    if not value.isascii():
        value = _SURROGATE.sub(_byte_shown, value)
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _byte_shown(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def header(family: Family, openmetrics: bool) -> str:
    """# HELP and # TYPE lines: OpenMetrics names a family without its counter's _total (or info's
    _info) suffix, the text format names it as its samples."""
    name = family.name
    if openmetrics:
        if family.kind == "counter":
            name = name.removesuffix("_total")
        elif family.kind == "info":
            name = name.removesuffix("_info")
        kind = family.kind
    else:
        kind = _TEXT_TYPES[family.kind]
    return f"# HELP {name} {family.help}\n# TYPE {name} {kind}\n"


class Renderer:
    """Writes readings; keep one across scrapes, so that label sets are escaped once per cgroup."""

    def __init__(self) -> None:
        self._labels: dict[tuple[Labels, Extra], str] = {}
        self._headers = {om: {f.name: header(f, om) for f in ALL_FAMILIES} for om in (False, True)}

    def render(self, reading: Reading, cost: Cost, *, openmetrics: bool) -> bytes:
        known, self._labels = self._labels, {}
        headers = self._headers[openmetrics]

        def labelled(labels: Labels, extra: Extra) -> str:
            key = (labels, extra)
            text = known.get(key)
            if text is None:
                text = label_string(labels, extra)
            self._labels[key] = text
            return text

        out: list[str] = []

        def family(f: Family, lines: Iterable[str]) -> None:
            body = list(lines)
            if body:
                out.append(headers[f.name])
                out.extend(body)

        family(MACHINE_CPU_CORES, [f"machine_cpu_cores {number(reading.cpu_cores)}\n"])
        family(MACHINE_MEMORY, [f"machine_memory_bytes {number(reading.memory_bytes)}\n"])
        rows = (((Labels("/"), reading.host),), reading.cgroups)
        for f in CGROUP_FAMILIES:
            name, values = f.name, f.values
            family(
                f,
                (
                    f"{name}{labelled(labels, extra)} {number(value)}\n"
                    for part in rows
                    for labels, figures in part
                    for extra, value in values(figures)
                ),
            )
        family(CONTAINER_INFO, (f"cgscope_container_info{info_labels(i)} 1.0\n" for i in reading.containers))
        family(SCRAPE_DURATION, [f"cgscope_scrape_duration_seconds {number(reading.seconds)}\n"])
        family(SCRAPE_CPU, [f"cgscope_scrape_cpu_seconds_total {number(cost.cpu_seconds)}\n"])
        family(SAMPLES, [f"cgscope_samples_total {number(cost.samples)}\n"])
        if openmetrics:
            out.append("# EOF\n")
        return "".join(out).encode()


def label_pairs(labels: Labels, extra: Extra = ()) -> list[tuple[str, str]]:
    """The non-empty labels of a series, sorted by name as prometheus_client writes them."""
    pairs = [
        ("container", labels.container), ("id", labels.id), ("image", labels.image),
        ("name", labels.name), ("namespace", labels.namespace), ("pod", labels.pod), *extra,
    ]  # fmt: skip
    return sorted((k, v) for k, v in pairs if v)


def label_string(labels: Labels, extra: Extra = ()) -> str:
    return _braces(label_pairs(labels, extra))


def info_pairs(info: Info) -> list[tuple[str, str]]:
    own: Mapping[str, str] = {
        "container_id": info.container_id,
        "runtime": info.runtime,
        "init_pid": str(info.init_pid),
        "shared_namespaces": info.shared_namespaces,
        "shared_cgroup": "true" if info.shared_cgroup else "false",
    }
    return sorted([*label_pairs(info.labels), *((k, v) for k, v in own.items() if v)])


def info_labels(info: Info) -> str:
    return _braces(info_pairs(info))


def _braces(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in pairs) + "}" if pairs else ""
