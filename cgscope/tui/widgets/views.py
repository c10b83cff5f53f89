"""The row of view names under the header: click one to switch views (the keys are 1 to 4)."""

from __future__ import annotations

from textual.widgets import Tab, Tabs

# (mode name, label), in the order of their keys 1, 2, 3, 4.
VIEWS = (
    ("containers", "1 Containers"),
    ("tree", "2 Cgroup tree"),
    ("namespaces", "3 Namespaces"),
    ("processes", "4 Processes"),
)


class ViewTabs(Tabs):
    """Tabs for the mouse: the keyboard switches views with 1 to 4, so the tabs never take the focus."""

    can_focus = False

    def __init__(self, active: str) -> None:
        super().__init__(*(Tab(label, id=name) for name, label in VIEWS), active=active)
