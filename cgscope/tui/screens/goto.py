"""`t` in a replay: type a time to go to ("10 min ago", "03:00", ISO 8601: history/when.py)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from cgscope.history.when import EXAMPLES


class GotoScreen(ModalScreen[str | None]):
    """Answers with the text typed (Enter), or None (Escape)."""

    DEFAULT_CSS = """
    GotoScreen { align: center middle; }
    GotoScreen > Vertical { width: 72; height: auto; border: round $accent; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="stay where it is"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"go to the frame nearest to a time, such as {EXAMPLES}", markup=False)
            yield Input(placeholder="a time", id="when")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
