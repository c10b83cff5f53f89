"""`?`: every key that works on the screen beneath, read from the bindings themselves."""

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
WIDGETS = {"SortableTable": "Table", "CgroupTree": "Tree", "OptionList": "Hierarchy list"}


def _where(node: object) -> str:
    if isinstance(node, App):
        return "Everywhere"
    if isinstance(node, Screen):
        return "This view"
    name = type(node).__name__
    return WIDGETS.get(name, name)


def key_table(app: App[object], screen: Screen[object]) -> Text:
    """Every binding active on `screen` (its focused widget's, its own, the app's), then the filter
    line's and the mouse."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.system:
            continue
        description = binding.description or binding.action.replace("_", " ")
        groups.setdefault(_where(active.node), []).append((app.get_key_display(binding), description))
    filter_keys = [b for b in FilterBar.BINDINGS if isinstance(b, Binding)]
    groups["Filter line"] = [
        ("type", "narrow the rows to those holding the text"),
        ("enter", "keep the filter, back to the table"),
        *((app.get_key_display(b), b.description) for b in filter_keys),
    ]
    groups["Mouse"] = list(MOUSE)
    text = Text()
    for where, keys in groups.items():
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
