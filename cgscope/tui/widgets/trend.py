"""A figure's last values as bars on a fixed scale, from 0 at the bottom to a top that does not move with
the data (a limit, or one CPU), the axis labelled: a steady 20 % stays a fifth high."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

_EIGHTHS = " ▁▂▃▄▅▆▇█"


def bars(values: Sequence[float], top: float, rows: int) -> list[str]:
    """`rows` lines of bars, the top line first: each value a column, in eighths of a line, 0 to `top`
    (clipped there). A value above 0 shows at least one eighth."""
    levels = rows * 8
    heights = []
    for v in values:
        n = round(max(0.0, min(v, top)) / top * levels) if top > 0 else 0
        heights.append(max(n, 1) if v > 0 else 0)
    lines = []
    for row in range(rows):
        base = (rows - 1 - row) * 8
        lines.append("".join(_EIGHTHS[max(0, min(8, h - base))] for h in heights))
    return lines


class Trend(Widget):
    """`values` drawn against `top`, whose label (`top_label`) heads the axis; the newest at the right."""

    DEFAULT_CSS = """
    Trend { height: 3; }
    Trend > .trend--axis { color: $text-muted; }
    Trend > .trend--bars { color: $accent; }
    """
    COMPONENT_CLASSES = {"trend--axis", "trend--bars"}  # noqa: RUF012 - Textual's own declaration

    values: reactive[tuple[float, ...]] = reactive((), layout=False)
    top: reactive[float] = reactive(1.0)
    top_label: reactive[str] = reactive("")

    def show(self, values: Sequence[float], top: float, top_label: str) -> None:
        self.values, self.top, self.top_label = tuple(values), top, top_label

    def render(self) -> Text:
        rows = max(1, self.size.height)
        axis = max(len(self.top_label), 1)
        room = max(0, self.size.width - axis - 2)
        lines = bars(self.values[-room:] if room else (), self.top, rows)
        axis_style = self.get_component_rich_style("trend--axis")
        bars_style = self.get_component_rich_style("trend--bars")
        text = Text(no_wrap=True, overflow="crop")
        for i, line in enumerate(lines):
            label = self.top_label if i == 0 else "0" if i == rows - 1 else ""
            text.append(f"{label:>{axis}} {'┤' if label else '│'}", axis_style)
            text.append(line, bars_style)
            if i < rows - 1:
                text.append("\n")
        return text
