"""Text that changes each refresh (a caption, a clock, a pane's figures) without laying the screen out
again: a layout costs more than the rest of a refresh's drawing, and moves nothing while the text
takes the same room."""

from __future__ import annotations

from rich.cells import cell_len
from textual.widgets import Static


def _fits(text: str, room: int) -> bool:
    return all(cell_len(line) <= room for line in text.split("\n"))


def put(widget: Static, text: str) -> None:
    """Show `text` in a Label or Static whose width the stylesheet sets (not its text): nothing when it
    shows that already, a repaint of the widget alone while the text takes as many lines, unwrapped;
    else a new layout (the widget may grow or shrink)."""
    before = widget.content
    if before == text:
        return
    room = widget.content_size.width
    same_height = (
        isinstance(before, str)
        and before.count("\n") == text.count("\n")
        and _fits(before, room)
        and _fits(text, room)
    )
    widget.update(text, layout=not same_height)
