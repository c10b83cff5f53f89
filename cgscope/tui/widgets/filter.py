"""The filter line under a table: `/` opens it, each key narrows the rows, Enter keeps, Escape clears."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Input


class FilterBar(Input):
    """Enter and Escape hand the focus back to `table` at once: Textual runs a key's binding only once
    the key has bubbled up to the app, and keys typed right behind it (a quick `Enter e`, a paste) would
    land in the line. Keys queued here before the focus moved are handed on to the table."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "clear", "Clear filter")]

    def __init__(self, table: Widget) -> None:
        super().__init__(placeholder="filter: type to narrow the rows, Enter to keep, Esc to clear")
        self.table = table

    def open(self) -> None:
        self.display = True
        self.focus()

    async def _on_key(self, event: events.Key) -> None:
        if self.screen.focused is not self:  # typed behind the Enter or Escape that left the line
            event.stop()
            event.prevent_default()
            self.app.post_message(events.Key(event.key, event.character))
        elif event.key in ("enter", "escape"):
            event.stop()
            event.prevent_default()
            if event.key == "escape":
                self.action_clear()
            else:
                await self.action_submit()

    def action_clear(self) -> None:
        self.value = ""
        self._leave()

    async def action_submit(self) -> None:
        self._leave()

    def _leave(self) -> None:
        self.display = bool(self.value)
        self.screen.set_focus(self.table)
