"""A table's rows: their cells, how they sort and filter, and how each is drawn — one `Text` per row,
each cell padded to its column's width, a share of a limit as a bar before its value, a figure near
trouble in the theme's warning or error colour. Built from the data as plain text (never parsed as
markup), once per row and kept until the row changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from cgscope.render.columns import Cell, Column

BAR_WIDTH = 5  # cells of a usage bar
PAD = 1  # cells of space on each side of a cell
_EIGHTHS = " ▏▎▍▌▋▊▉"


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    cells: tuple[Cell, ...]

    def holds(self, needle: str) -> bool:
        """Whether any cell's text holds `needle` (lower-case), whatever the case."""
        return any(needle in c.text.lower() for c in self.cells)


def sort_key(index: int, reverse: bool) -> Callable[[Row], tuple[bool, bool, Any]]:
    def key(row: Row) -> tuple[bool, bool, Any]:
        value = row.cells[index].sort
        # Unknown values last in either direction; numbers before text should a column mix them.
        if value is None:
            return not reverse, False, ""
        text = isinstance(value, str)
        return reverse, text != reverse, value.lower() if isinstance(value, str) else value

    return key


@dataclass(frozen=True)
class Palette:
    """The styles cells are drawn in, from the theme (the table's component classes)."""

    warning: Style
    error: Style
    bar: Style  # the filled part of a bar
    track: Style  # its empty part: quiet
    header: Style
    mark: Style  # the sort mark, and the mark of columns left out

    @classmethod
    def of(cls, style: Callable[[str], Style]) -> Palette:
        """From a table's component classes, by name: their colour and boldness (the header's whole
        style)."""

        def color(name: str) -> Style:
            given = style(name)
            return Style(color=given.color, bold=given.bold)

        warning, error, bar, track = (color(name) for name in ("warning", "error", "bar", "track"))
        return cls(warning, error, bar, track, style("header"), color("mark"))

    def level(self, cell: Cell) -> Style | None:
        return self.error if cell.level == "error" else self.warning if cell.level == "warning" else None


def bar(percent: float) -> tuple[str, str]:
    """A bar BAR_WIDTH cells wide, full at 100 % (and beyond), in eighths of a cell: (filled, empty)."""
    eighths = round(max(0.0, min(percent, 100.0)) / 100 * BAR_WIDTH * 8)
    full, rest = divmod(eighths, 8)
    filled = "█" * full + (_EIGHTHS[rest] if rest else "")
    return filled, "░" * (BAR_WIDTH - len(filled))


def width(cell: Cell, spec: Column[Any]) -> int:
    """Cells the drawn value takes: a share of a limit gets a bar before its text."""
    return cell_len(cell.text) + (BAR_WIDTH + 1 if spec.bar else 0)


def _cell(text: Text, cell: Cell, spec: Column[Any], size: int, palette: Palette) -> None:
    """Append one cell, `size` cells wide plus its padding, to `text`."""
    style = palette.level(cell)
    text.append(" " * PAD)
    if spec.bar:
        size -= BAR_WIDTH + 1
        if cell.percent is None:
            text.append(" " * (BAR_WIDTH + 1))
        else:
            filled, empty = bar(cell.percent)
            text.append(filled, style or palette.bar)
            text.append(empty, palette.track)
            text.append(" ")
    shown = cell.text if cell_len(cell.text) <= size else cell.text[: max(0, size - 1)] + "…"
    room = " " * (size - cell_len(shown))
    if spec.justify == "right":
        text.append(room)
    text.append(shown, style)
    if spec.justify != "right":
        text.append(room)
    text.append(" " * PAD)


def row_text(
    cells: Sequence[Cell], specs: Sequence[Column[Any]], sizes: Sequence[int], palette: Palette
) -> Text:
    """The row's cells of the columns shown (`specs`, each `sizes` cells wide)."""
    text = Text(no_wrap=True, end="")
    for cell, spec, size in zip(cells, specs, sizes, strict=True):
        _cell(text, cell, spec, size, palette)
    return text


def header_text(
    specs: Sequence[Column[Any]], sizes: Sequence[int], sort: str, reverse: bool, palette: Palette
) -> Text:
    """The column headers, the sort column's marked ▲ (▼ inverted)."""
    text = Text(no_wrap=True, end="", style=palette.header)
    for spec, size in zip(specs, sizes, strict=True):
        mark = ("▼" if reverse else "▲") if spec.key == sort else ""
        label = spec.header[: size - len(mark)]
        room = " " * (size - cell_len(label) - len(mark))
        text.append(" " * PAD)
        if spec.justify == "right":
            text.append(room)
        text.append(label)
        text.append(mark, palette.mark)
        if spec.justify != "right":
            text.append(room)
        text.append(" " * PAD)
    return text
