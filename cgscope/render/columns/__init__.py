"""The columns of every table, one spec per figure: its key, its header, how it is read from a row and
written, how it sorts, and how soon it gives way on a narrow terminal. The one-shot commands (`containers`,
`top`, `ps`, `ns`, `inspect`) and the dashboard's tables are built from these specs, so one figure has one
header everywhere, and a new column is one entry.

A spec turns a row into a `Cell`: the text as written (data's control characters made visible), the value
it sorts by, for a share of a limit the percentage a dashboard draws as a bar, and whether the figure is
near trouble (`Level`: a limit nearly reached, throttling, an OOM kill), which a dashboard colours.

On a terminal too narrow for every column, the least important give way (render/table.fit): `priority` 0
tells rows apart and always stays, higher numbers give way first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from cgscope.render.table import Column as TableColumn
from cgscope.render.table import Table, visible

T = TypeVar("T")
SortValue = str | int | float | None
Level = Literal["warning", "error"]  # a figure near trouble; None: nothing to say

UNKNOWN = "?"  # a value cgscope may not read (permission denied, a file gone or malformed)
NONE = "-"  # nothing to show: no limit, no quota, not a container
MEASURING = "…"  # a rate before the second sample: one sample tells no rate

# When a figure is near trouble: a share of a CPU or memory limit (%), throttled periods (%).
WARNING_SHARE, ERROR_SHARE = 80.0, 95.0
THROTTLED_WARNING = 10.0


@dataclass(frozen=True, slots=True)
class Cell:
    text: str  # as written: widths, the filter and the plain output use it
    sort: SortValue = None  # None sorts after every known value, whatever the direction
    percent: float | None = None  # a share of a limit, for a bar where the table draws one
    level: Level | None = None

    @classmethod
    def of(cls, value: str | int | None) -> Cell:
        """A plain value, sorted by itself; UNKNOWN when None."""
        if value is None:
            return UNKNOWN_CELL
        if isinstance(value, int):
            return cls(str(value), value)
        return cls(visible(value), value)

    @classmethod
    def number(cls, value: float | None, text: str | None) -> Cell:
        """A figure written as `text`, sorted by `value`; UNKNOWN when either is None."""
        return UNKNOWN_CELL if value is None or text is None else cls(text, value)


def share_level(percent: float | None) -> Level | None:
    """A share of a limit: a warning from WARNING_SHARE %, an error from ERROR_SHARE %."""
    if percent is None or percent < WARNING_SHARE:
        return None
    return "error" if percent >= ERROR_SHARE else "warning"


def worst(*levels: Level | None) -> Level | None:
    return "error" if "error" in levels else "warning" if "warning" in levels else None


UNKNOWN_CELL = Cell(UNKNOWN)
NONE_CELL = Cell(NONE)
MEASURING_CELL = Cell(MEASURING)


@dataclass(frozen=True)
class Column(Generic[T]):
    key: str
    header: str
    cell: Callable[[T], Cell]
    justify: Literal["left", "right"] = "left"
    priority: int = 1  # 0: it tells rows apart and always stays; higher numbers give way first
    wrap: bool = False  # a long value (a command line): cut to fit a terminal, never when piped
    bar: bool = False  # a share of a limit (Cell.percent): the dashboard draws a bar before the value


def pick(columns: Sequence[Column[T]], keys: Iterable[str]) -> list[Column[T]]:
    """The columns named by `keys`, in that order (KeyError for a key no column has)."""
    by_key = {c.key: c for c in columns}
    return [by_key[k] for k in keys]


def table(columns: Sequence[Column[T]], rows: Iterable[T], title: str | None = None) -> Table:
    """The one-shot commands' Table (render/table.py) of `rows` in these columns: on a terminal, fitted
    to its width (the least important columns give way), one line per row."""
    out = Table(
        [TableColumn(c.header, c.justify, c.wrap, c.priority) for c in columns], title=title, fitted=True
    )
    for row in rows:
        out.rows.append([visible(c.cell(row).text) for c in columns])
    return out


def percent(x: float | None) -> str | None:
    """A percentage as top writes it: one decimal, no sign."""
    return None if x is None else f"{x:.1f}"
