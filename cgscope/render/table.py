"""A table printed with rich on a terminal, as plain aligned text (no truncation) when piped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TextIO

_NAMED = {"\n": "\\n", "\t": "\\t"}


@dataclass(frozen=True)
class Column:
    header: str
    justify: Literal["left", "right"] = "left"
    wrap: bool = False  # a long value (a command line) may fold on a terminal; never when piped


@dataclass
class Table:
    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)
    title: str | None = None

    def add(self, *cells: object) -> None:
        self.rows.append(["-" if c is None else visible(str(c)) for c in cells])


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


def print_table(table: Table, out: TextIO, terminal: bool) -> None:
    if terminal:
        _print_rich(table, out)
    else:
        out.write(plain(table))


def plain(table: Table) -> str:
    """ps-like columns separated by two spaces; the last column is never padded."""
    header = [c.header for c in table.columns]
    widths = [max(len(r[i]) for r in [header, *table.rows]) for i in range(len(header))]
    lines = []
    for row in [header, *table.rows]:
        cells = [
            cell.rjust(w) if col.justify == "right" else cell.ljust(w)
            for cell, w, col in zip(row, widths, table.columns, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _print_rich(table: Table, out: TextIO) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    title = Text(visible(table.title)) if table.title is not None else None  # data, never markup
    rich_table = RichTable(title=title, box=box.SIMPLE_HEAD, header_style="bold")
    for col in table.columns:
        rich_table.add_column(
            col.header, justify=col.justify, overflow="fold" if col.wrap else "ellipsis", no_wrap=not col.wrap
        )
    for row in table.rows:
        rich_table.add_row(*(Text(cell) for cell in row))  # values are data, never markup
    Console(file=out, highlight=False).print(rich_table)
