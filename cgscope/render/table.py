"""A table printed with rich on a terminal, as plain aligned text (no truncation) when piped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TextIO

# A command line may hold newlines and escapes: show them, never let them break a row or the terminal.
_VISIBLE = {i: f"\\x{i:02x}" for i in range(32)} | {10: "\\n", 9: "\\t", 127: "\\x7f"}


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
    """Control characters shown as escapes ("\\n", "\\x1b"): data never moves the cursor or breaks a row."""
    return text.translate(_VISIBLE)


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

    rich_table = RichTable(title=table.title, box=box.SIMPLE_HEAD, header_style="bold")
    for col in table.columns:
        rich_table.add_column(
            col.header, justify=col.justify, overflow="fold" if col.wrap else "ellipsis", no_wrap=not col.wrap
        )
    for row in table.rows:
        rich_table.add_row(*(Text(cell) for cell in row))  # values are data, never markup
    Console(file=out, highlight=False).print(rich_table)
