"""`?`: every key that works on the screen beneath, read from the bindings themselves: cgscope's own
actions first (and a detail's panes), then the views, then moving around."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from cgscope.tui.widgets.filter import FilterBar

MOUSE = (
    ("click a view's name", "switch views"),
    ("click a column header", "sort by it; again to invert"),
    ("click a row twice", "open it (as Enter)"),
    ("wheel", "scroll"),
)
KEY_WIDTH = 10
# Where an action is listed, by its name; an action not named here is a way of moving around.
SECTIONS: tuple[tuple[str, set[str]], ...] = (
    ("Actions on the selection", {"act", "limit", "move", "freeze", "nsenter", "kill", "undo", "open"}),
    ("Panes of the detail", {"pane"}),
    ("Views", {"switch_mode", "app.pop_screen", "toggle_tree", "toggle_kernel"}),
    ("Refresh", {"interval", "refresh_now"}),
    ("Replay", {"step", "event", "goto"}),
    ("Moving around", set()),
    ("cgscope", {"help", "quit", "command_palette"}),
)
_AROUND = "Moving around"


def _section(action: str) -> str:
    name = action.split("(", 1)[0]
    return next((title for title, names in SECTIONS if name in names), _AROUND)


def key_table(app: App[object], screen: Screen[object]) -> Text:
    """Every binding active on `screen` (its focused widget's, its own, the app's) by section, then the
    filter line's keys and the mouse."""
    groups: dict[str, list[tuple[str, str]]] = {title: [] for title, _ in SECTIONS}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.system:
            continue
        description = binding.tooltip or binding.description or binding.action.replace("_", " ")
        groups[_section(binding.action)].append((app.get_key_display(binding), description))
    filter_keys = [b for b in FilterBar.BINDINGS if isinstance(b, Binding)]
    groups["Filter line"] = [
        ("type", "narrow the rows to those holding the text"),
        ("enter", "keep the filter, back to the table"),
        *((app.get_key_display(b), b.description) for b in filter_keys),
    ]
    groups["Mouse"] = list(MOUSE)
    text = Text()
    for where, keys in groups.items():
        if not keys:
            continue
        text.append(f"{'':>{KEY_WIDTH}}  {where}\n", style="bold underline")
        for key, description in keys:
            text.append(f"{key:>{KEY_WIDTH}}", style="bold").append(f"  {description}\n")
    text.rstrip()
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, beneath: Screen[object]) -> None:
        super().__init__()
        self.beneath = beneath

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(key_table(self.app, self.beneath), id="keys")

    def on_mount(self) -> None:
        self.query_one("#help").border_title = "Keys (Esc closes)"
