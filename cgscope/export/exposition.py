"""A Reading as the Prometheus text format (0.0.4) or OpenMetrics 1.0.0, byte for byte as
prometheus_client's generate_latest writes the same families (tests/test_export_format.py checks it).

prometheus_client's own writers build an object per sample and escape every label of every sample:
~170 ms of CPU for 200 containers (7,000 series) on this project's test machine, where a scrape should
cost under 10 ms. Here a renderer kept across scrapes remembers each series' line while its cgroup
lasts: a line whose value did not change since the last scrape is served again as it was, and one
whose value did costs one format of that value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from operator import attrgetter
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
    Field,
)
from cgscope.export.source import Figures, Info, Labels, Reading

_go_number = cast(Callable[[float], str], utils.floatToGoString)  # as Go's Prometheus clients write it
_TEXT_TYPES = {"counter": "counter", "gauge": "gauge", "unknown": "untyped", "info": "gauge"}
_SURROGATE = re.compile("[\ud800-\udfff]")  # what is left of a byte that was not UTF-8 (surrogateescape)


def number(value: float) -> str:
    """A value as Go's Prometheus clients write it (prometheus_client's floatToGoString): a count
    below a million, the most common value, as repr(float(value)) writes it, without the float."""
    if type(value) is int and 0 <= value < 1_000_000:
        return f"{value}.0"
    return _go_number(value)


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


# The families that serve one field of a cgroup's Figures, as columns: FIELDS reads them all at once.
_COLUMNS = tuple((f, f.values) for f in CGROUP_FAMILIES if isinstance(f.values, Field))
_COLUMN_OF = {f.name: j for j, (f, _) in enumerate(_COLUMNS)}
_FIELDS = attrgetter(*(v.name for _, v in _COLUMNS))
# Every field of Figures a cgroup family reads, and which one each reads: a family whose field is the
# same in every cgroup as at the last scrape, the cgroups being the same, is served as it was written.
_INPUTS = tuple(dict.fromkeys(f.figure for f in CGROUP_FAMILIES))
_INPUT_OF = {f.name: _INPUTS.index(f.figure) for f in CGROUP_FAMILIES}
_READ_INPUTS = attrgetter(*_INPUTS)


class _Series:
    """What one cgroup's series showed at the last scrape, and their lines: for a column (a family of
    one field) its value and line, for any other family its samples and lines."""

    def __init__(self, labels: Labels) -> None:
        self.labels = labels
        self.shown: list[float | None] = [None] * len(_COLUMNS)
        self.lines = [""] * len(_COLUMNS)
        # by family: the figure its samples were made of, the samples and their lines
        self._others: dict[str, tuple[object, list[tuple[Extra, float]], list[str]]] = {}
        self._prefixes: dict[tuple[str, Extra], str] = {}

    def _prefix(self, name: str, extra: Extra) -> str:
        """A series' name and labels: escaped once while the cgroup lasts."""
        text = self._prefixes.get((name, extra))
        if text is None:
            text = self._prefixes[(name, extra)] = f"{name}{label_string(self.labels, extra)} "
        return text

    def column(self, j: int, value: float, shown: str) -> str:
        """The line of column j, now showing `value`, written `shown`."""
        f, only = _COLUMNS[j]
        text = f"{self._prefix(f.name, only.extra)}{shown}\n"
        self.shown[j], self.lines[j] = value, text
        return text

    def several(self, f: Family, figures: Figures) -> list[str]:
        """The lines of a family of several samples (or of a figure not a field): as last written where
        they read the very same figure (a container's PSI and memory events are one object until they
        are read again, every 5 s) or come to the same samples."""
        given = getattr(figures, f.figure)
        seen = self._others.get(f.name)
        if seen is not None and seen[0] is given:
            return seen[2]
        samples = list(f.values(figures))
        if seen is not None and seen[1] == samples:
            lines = seen[2]
        else:
            lines = [f"{self._prefix(f.name, extra)}{number(v)}\n" for extra, v in samples]
        self._others[f.name] = (given, samples, lines)
        return lines


_Row = tuple[_Series, Figures, tuple[float | None, ...]]


def _column_lines(rows: list[_Row], j: int) -> list[str]:
    """Column j's lines, one per cgroup that has the figure: as last served where the value is the same,
    each new value written once (container_last_seen's is the same in every cgroup)."""
    out = []
    written: dict[float, str] = {}
    for series, _, now in rows:
        value = now[j]
        if value is None:
            continue
        if value == series.shown[j]:
            out.append(series.lines[j])
            continue
        shown = written.get(value)
        if shown is None:
            shown = written[value] = number(value)
        out.append(series.column(j, value, shown))
    return out


class _Written:
    """Each cgroup family's text as last written, with the cgroups and the field's values it shows."""

    def __init__(self) -> None:
        self.cgroups: tuple[Labels, ...] = ()
        self.inputs: list[tuple[object, ...]] = []
        self.texts: dict[str, str] = {}

    def families(self, rows: list[_Row]) -> Iterator[tuple[Family, str]]:
        """(family, its lines) in the order served, each written again only where its input changed."""
        cgroups = tuple(series.labels for series, _, _ in rows)
        inputs = list(zip(*(_READ_INPUTS(figures) for _, figures, _ in rows), strict=True))
        same = cgroups == self.cgroups and len(inputs) == len(self.inputs)
        texts: dict[str, str] = {}
        for f in CGROUP_FAMILIES:
            k = _INPUT_OF[f.name]
            text = self.texts.get(f.name) if same and inputs[k] == self.inputs[k] else None
            if text is None:
                j = _COLUMN_OF.get(f.name)
                if j is not None:
                    text = "".join(_column_lines(rows, j))
                else:
                    text = "".join(line for s, figures, _ in rows for line in s.several(f, figures))
            texts[f.name] = text
            yield f, text
        self.cgroups, self.inputs, self.texts = cgroups, inputs, texts


class Renderer:
    """Writes readings; keep one across scrapes, so that a line is written once while it stays the same
    (a cgroup gone since the last reading is forgotten)."""

    def __init__(self) -> None:
        self._series: dict[Labels, _Series] = {}
        self._infos: dict[Info, str] = {}
        self._headers = {om: {f.name: header(f, om) for f in ALL_FAMILIES} for om in (False, True)}
        self._written = _Written()
        self._rendered: tuple[Reading, list[tuple[Family, str]]] | None = None  # the last reading's

    def render(self, reading: Reading, cost: Cost, *, openmetrics: bool) -> bytes:
        headers = self._headers[openmetrics]
        out: list[str] = []

        def family(f: Family, lines: list[str]) -> None:
            if lines:
                out.append(headers[f.name])
                out.extend(lines)

        family(MACHINE_CPU_CORES, [f"machine_cpu_cores {number(reading.cpu_cores)}\n"])
        family(MACHINE_MEMORY, [f"machine_memory_bytes {number(reading.memory_bytes)}\n"])
        for f, text in self._cgroup_families(reading):
            family(f, [text] if text else [])
        family(CONTAINER_INFO, self._info_lines(reading.containers))
        family(SCRAPE_DURATION, [f"cgscope_scrape_duration_seconds {number(reading.seconds)}\n"])
        family(SCRAPE_CPU, [f"cgscope_scrape_cpu_seconds_total {number(cost.cpu_seconds)}\n"])
        family(SAMPLES, [f"cgscope_samples_total {number(cost.samples)}\n"])
        if openmetrics:
            out.append("# EOF\n")
        return "".join(out).encode()

    def _cgroup_families(self, reading: Reading) -> list[tuple[Family, str]]:
        """The cgroups' families, written once per reading for both formats (their lines are the same)."""
        if self._rendered is None or self._rendered[0] is not reading:
            self._rendered = (reading, list(self._written.families(self._rows(reading))))
        return self._rendered[1]

    def _rows(self, reading: Reading) -> list[_Row]:
        """The host (as id="/") and each cgroup: the lines remembered for it, its figures, its columns."""
        known, self._series = self._series, {}
        rows = []
        for labels, figures in ((Labels("/"), reading.host), *reading.cgroups):
            series = known.get(labels) or _Series(labels)
            self._series[labels] = series
            rows.append((series, figures, _FIELDS(figures)))
        return rows

    def _info_lines(self, infos: Iterable[Info]) -> list[str]:
        known, self._infos = self._infos, {}
        lines = []
        for i in infos:
            line = known.get(i) or f"cgscope_container_info{info_labels(i)} 1.0\n"
            self._infos[i] = line
            lines.append(line)
        return lines


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
        "borrowed": info.borrowed,
    }
    return sorted([*label_pairs(info.labels), *((k, v) for k, v in own.items() if v)])


def info_labels(info: Info) -> str:
    return _braces(info_pairs(info))


def _braces(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in pairs) + "}" if pairs else ""
