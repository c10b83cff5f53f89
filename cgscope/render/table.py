"""A table printed with rich on a terminal, as plain aligned text (no truncation) when piped.

A fitted table (the containers, processes and namespaces tables) keeps each row on one line of a
terminal: the least important columns give way to the terminal's width (`fit`), a `›` at the right of
the header says that some did, and a long value is cut ("…") rather than folded.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TextIO

_NAMED = {"\n": "\\n", "\t": "\\t"}
MORE = "›"  # at the right of a header: columns left out for want of width
ELASTIC_MIN = 16  # cells a long value (a command line, a cgroup) keeps in a fitted table


@dataclass(frozen=True)
class Column:
    header: str
    justify: Literal["left", "right"] = "left"
    wrap: bool = False  # a long value (a command line): folds on a terminal (cut, in a fitted table)
    priority: int = 1  # 0: it tells rows apart and always stays; higher numbers give way first


@dataclass
class Table:
    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)
    title: str | None = None
    fitted: bool = False  # on a terminal: one line per row, the least important columns giving way

    def add(self, *cells: object) -> None:
        self.rows.append(["-" if c is None else visible(str(c)) for c in cells])


class Fittable(Protocol):
    @property
    def priority(self) -> int: ...

    @property
    def wrap(self) -> bool: ...


def fit(columns: Sequence[Fittable], widths: Sequence[int], room: int, gap: int, mark: int) -> list[int]:
    """The indices, in order, of the columns that fit in `room` cells, each taking its width and `gap`:
    the most important first (lowest priority, then leftmost) until one does not fit. A long value
    (`wrap`) counts ELASTIC_MIN cells at most: it is cut to what is left. Priority 0 always stays. When
    a column is left out, MORE takes `mark` cells at the right."""
    cells = [min(w, ELASTIC_MIN) if c.wrap else w for c, w in zip(columns, widths, strict=True)]
    if sum(cells) + gap * len(cells) <= room:
        return list(range(len(columns)))
    room -= mark
    kept: list[int] = []
    used = 0
    for i in sorted(range(len(columns)), key=lambda i: (columns[i].priority, i)):
        if columns[i].priority > 0 and used + cells[i] + gap > room:
            break
        kept.append(i)
        used += cells[i] + gap
    return sorted(kept)


def visible(text: str) -> str:
    """A string from the host (a name, a command line, a path, a label), as cgscope prints it everywhere
    but in JSON: every character that is not printable written as an escape ("\\n", "\\t", "\\x1b",
    "\\x9b", "\\u202e"), a byte that was not UTF-8 (decoded to a lone surrogate, surrogateescape) as that
    byte ("\\xff"). So data never moves the cursor, sets the terminal's title, breaks a row or reorders
    text: ESC and every other C0 control, DEL, the C1 controls (\\x9b is CSI to many terminals), line
    and paragraph separators, bidirectional overrides and other format characters."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escaped(c) for c in text)


def _escaped(c: str) -> str:
    code = ord(c)
    if c in _NAMED:
        return _NAMED[c]
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def print_table(table: Table, out: TextIO, terminal: bool, width: int | None = None) -> None:
    """On a terminal (`width` columns, else its own), with rich; else plain."""
    if terminal:
        _print_rich(table, out, width or shutil.get_terminal_size().columns)
    else:
        out.write(plain(table))


def widths(table: Table) -> list[int]:
    """Each column's width: its longest cell or header."""
    return [
        max(len(r[i]) for r in [[c.header for c in table.columns], *table.rows])
        for i in range(len(table.columns))
    ]


def plain(table: Table) -> str:
    """ps-like columns separated by two spaces; the last column is never padded."""
    header = [c.header for c in table.columns]
    sizes = widths(table)
    lines = []
    for row in [header, *table.rows]:
        cells = [
            cell.rjust(w) if col.justify == "right" else cell.ljust(w)
            for cell, w, col in zip(row, sizes, table.columns, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


# rich's SIMPLE_HEAD table: a cell's padding on each side and one separator per column, one more at the end
_RICH_GAP, _RICH_EDGE = 3, 1


def _print_rich(table: Table, out: TextIO, width: int) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    shown = list(range(len(table.columns)))
    if table.fitted:
        shown = fit(table.columns, widths(table), width - _RICH_EDGE, _RICH_GAP, len(MORE) + _RICH_GAP)
    title = Text(visible(table.title)) if table.title is not None else None  # data, never markup
    rich_table = RichTable(title=title, box=box.SIMPLE_HEAD, header_style="bold")
    for i in shown:
        col = table.columns[i]
        fold = col.wrap and not table.fitted
        rich_table.add_column(
            col.header, justify=col.justify, overflow="fold" if fold else "ellipsis", no_wrap=not fold
        )
    if len(shown) < len(table.columns):
        rich_table.add_column(MORE, width=len(MORE), no_wrap=True)
        left_out = ", ".join(c.header for i, c in enumerate(table.columns) if i not in shown)
        rich_table.caption = f"{MORE} more columns: {left_out} (a wider terminal, or --json)"
    for row in table.rows:
        cells = [Text(row[i]) for i in shown]  # values are data, never markup
        rich_table.add_row(*cells, *([Text("")] if len(shown) < len(table.columns) else []))
    Console(file=out, highlight=False, width=width).print(rich_table)
