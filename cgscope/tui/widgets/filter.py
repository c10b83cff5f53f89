"""The filter line under a table: `/` opens it, each key narrows the rows, Enter keeps, Escape clears."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class FilterBar(Input):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "clear", "Clear filter")]

    class Closed(Message):
        """The user left the filter line (Enter keeps the filter, Escape clears it)."""

    def __init__(self) -> None:
        super().__init__(placeholder="filter: type to narrow the rows, Enter to keep, Esc to clear")

    def open(self) -> None:
        self.display = True
        self.focus()

    def action_clear(self) -> None:
        self.value = ""
        self.display = False
        self.post_message(self.Closed())

    async def action_submit(self) -> None:
        self.display = bool(self.value)
        self.post_message(self.Closed())
