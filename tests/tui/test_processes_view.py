"""The processes view as htop users expect it: CPU %, RSS, state and threads of every process, kernel
threads hidden until asked for, a tree; and the same columns in a container's Processes pane."""

from __future__ import annotations

import os

from fakehost import FakeHost
from hosts.dashboard import DOCKER_ID, UNSHARE_PID

from cgscope.tui.app import CgscopeApp
from cgscope.tui.screens.processes import ProcessesScreen
from cgscope.tui.widgets.table import SortableTable

from .conftest import AppFactory, drawn, refreshed

PAGE = os.sysconf("SC_PAGE_SIZE")


def table_of(app: CgscopeApp, selector: str = "SortableTable") -> SortableTable[object]:
    return app.screen.query_one(selector, SortableTable)


def busy(host: FakeHost, pid: int, ticks: int, *, threads: int = 1, state: str = "R") -> None:
    """Give a fixture process `ticks` clock ticks of CPU time more, `threads` threads and `state`."""
    path = host.proc / str(pid) / "stat"
    text = path.read_text()
    head, _, rest = text.rpartition(")")
    fields = rest.split()
    fields[0] = state
    fields[11] = str(int(fields[11]) + ticks)  # utime
    fields[17] = str(threads)  # num_threads
    path.write_text(f"{head}) {' '.join(fields)}\n")


async def test_cpu_rss_state_and_threads_of_every_process(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host)
    async with app.run_test(size=(120, 30)) as pilot:
        await drawn(pilot)
        await pilot.press("4")
        screen = await drawn(pilot)
        assert isinstance(screen, ProcessesScreen)
        table = table_of(app)
        assert table.cell("1020", "cpu").text in ("…", "0.0")  # a rate needs two reads
        assert table.cell("1020", "rss").text == "1.6M"  # 400 pages of the fixture's stat
        busy(host, 1020, 3000, threads=4)
        await refreshed(pilot)
        cpu = float(table.cell("1020", "cpu").text)
        assert cpu > 0  # 30 s of CPU over the few seconds between the two reads
        assert table.cell("1020", "state").text == "R"
        assert table.cell("1020", "threads").text == "4"
        assert table.cell("531", "cpu").text == "0.0"
        assert float(table.cell("1020", "mem").text) == round(400 * PAGE / (8131400 * 1024) * 100, 1)


async def test_kernel_threads_hidden_until_asked_and_a_tree(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host)
    async with app.run_test(size=(120, 30)) as pilot:
        await drawn(pilot)
        await pilot.press("4")
        await drawn(pilot)
        table = table_of(app)
        assert "2" not in table.shown_keys and "3" not in table.shown_keys  # kthreadd, a kworker
        assert "kernel threads hidden" in str(app.screen.query_one("#caption").render())
        await pilot.press("K")
        assert {"2", "3"} <= set(table.shown_keys)
        await pilot.press("K", "t")
        order = table.shown_keys
        assert order.index("1010") < order.index("1020") < order.index("1200") < order.index("1201")
        assert table.cell("1020", "command").text.endswith("─ python3 -c print('[bold]not markup[/bold]')\\n")
        assert table.cell("1203", "command").text.endswith("└─ sleep 1000")
        assert "▲" not in table.header_line()  # a tree is in its own order
        await pilot.press("t")
        assert table.shown_keys == sorted(table.shown_keys, key=int)
        assert table.cell("1020", "command").text.startswith("python3")


async def test_nspid_is_blank_outside_the_containers_pid_namespace_and_members_show_threads(
    host: FakeHost, make_app: AppFactory
) -> None:
    app = make_app(host)
    async with app.run_test(size=(120, 30)) as pilot:
        await drawn(pilot)
        table = table_of(app)
        table.move_cursor(row=table.shown_keys.index(f"pid-{UNSHARE_PID}"))
        await pilot.press("enter", "p")
        await drawn(pilot)
        members = table_of(app, "#members")
        assert members.cell("1200", "nspid").text == "-"  # unshare itself: the host's pid namespace
        assert members.cell("1201", "nspid").text == "1"
        assert members.cell("1201", "threads").text == "1"
        await pilot.press("escape")
        table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
        await pilot.press("enter", "p")
        await drawn(pilot)
        assert "threads" in table_of(app, "#members").shown_columns
