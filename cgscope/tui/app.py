"""`cgscope` with no command: a live list of containers, refreshed off the UI thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header

from cgscope.errors import CgscopeError
from cgscope.fs.hostroot import HostRoot
from cgscope.model.collect import Collector
from cgscope.model.containers import Inventory, group_containers
from cgscope.render import views


@dataclass
class Scanned(Message):
    inventory: Inventory


class CgscopeApp(App[int]):
    CSS_PATH = "cgscope.tcss"
    TITLE = "cgscope"
    BINDINGS: ClassVar = [Binding("q", "quit", "Quit"), Binding("r", "refresh", "Refresh")]

    def __init__(self, host: HostRoot, interval: float = 2.0) -> None:
        super().__init__()
        self.host = host
        self.collector = Collector(host)
        self.interval = interval

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="containers", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"cgroup {self.host.mode}"
        table = self.query_one(DataTable)
        for column in views.CONTAINER_COLUMNS:
            table.add_column(column.header, key=column.header)
        self.action_refresh()
        self.set_interval(self.interval, self.action_refresh)

    def action_refresh(self) -> None:
        self.scan()

    @work(thread=True, exclusive=True)
    def scan(self) -> None:
        """Walk /proc in a worker thread: the UI never blocks on the kernel's files."""
        try:
            self.post_message(Scanned(group_containers(self.host, self.collector)))
        except CgscopeError as exc:
            self.notify(str(exc), severity="error")

    def on_scanned(self, message: Scanned) -> None:
        primary = self.host.primary.key if self.host.primary else None
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for row in views.containers_table(message.inventory, primary).rows:
            table.add_row(*row)
        table.move_cursor(row=min(cursor, table.row_count - 1))


def run_dashboard(root: Path) -> int:
    app = CgscopeApp(HostRoot.at(root))
    app.run()
    return app.return_code or 0
