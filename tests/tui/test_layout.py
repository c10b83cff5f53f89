"""The dashboard at 80x24 and wider: which columns stay, the footer's keys for the selected row, the help
and the command palette (Textual's Pilot on the fixture host)."""

from __future__ import annotations

import asyncio
import time

from fakehost import FakeHost
from hosts.dashboard import DOCKER_ID
from textual.widgets._footer import FooterKey

from cgscope.render.columns.containers import HOST
from cgscope.tui.app import CgscopeApp
from cgscope.tui.screens.change import KillScreen
from cgscope.tui.screens.help import HelpScreen
from cgscope.tui.widgets.table import SortableTable

from .conftest import AppFactory, drawn


def table_of(app: CgscopeApp, selector: str = "SortableTable") -> SortableTable[object]:
    return app.screen.query_one(selector, SortableTable)


def footer_keys(app: CgscopeApp) -> list[str]:
    return [key.key for key in app.screen.query(FooterKey)]


async def settled(pilot: object) -> None:
    """The footer is composed again after the bindings change: let it."""
    for _ in range(3):
        await pilot.pause()  # type: ignore[attr-defined]


async def test_at_80_columns_the_figures_that_matter_stay_and_the_rest_give_way(
    host: FakeHost, make_app: AppFactory
) -> None:
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        table = table_of(app)
        shown = table.shown_columns
        assert shown[:5] == ["name", "state", "cpu", "cpu_limit", "memory"]
        assert "cgroup" not in shown and "namespaces" not in shown
        header = table.render_line(0).text
        assert len(header) == 80 and header.rstrip().endswith("›")  # columns left out, and said so
        for label in ("NAME", "STATE", "CPU%", "%CPU LIM", "MEM/LIMIT"):
            assert label in header  # whole, never cut
        assert table.render_line(1 + table.shown_keys.index(DOCKER_ID)).text.split()[:2] == ["web", "running"]
    wide = make_app(host)
    async with wide.run_test(size=(200, 50)) as pilot:
        await drawn(pilot)
        table = table_of(wide)
        assert len(table.shown_columns) == len(table.specs)  # every column, no mark
        assert "›" not in table.render_line(0).text


async def test_the_first_column_stays_while_the_others_scroll_sideways(
    host: FakeHost, make_app: AppFactory
) -> None:
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        await pilot.press("4")
        await drawn(pilot)
        table = table_of(app)
        y = 1 + table.shown_keys.index("1020")
        before = table.render_line(y).text
        assert before.split()[0] == "1020"
        await pilot.press("right", "right")
        await pilot.pause()
        assert table.scroll_offset.x == 16
        after = table.render_line(y).text
        assert after.split()[0] == "1020" and after != before  # the pid stays in place, the rest moved
        assert after.index("1.6M") == before.index("1.6M") - 16  # its RSS, 16 cells further left


async def test_footer_shows_the_actions_that_apply_to_the_selected_row(
    host: FakeHost, make_app: AppFactory
) -> None:
    app = make_app(host, read_only=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        table = table_of(app)
        table.move_cursor(row=table.shown_keys.index(HOST))
        await settled(pilot)
        keys = footer_keys(app)
        assert "enter" in keys and "u" in keys
        assert not {"l", "m", "f", "e"} & set(keys)  # the host is not a container
        table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
        await settled(pilot)
        keys = footer_keys(app)
        assert [k for k in keys if k in ("enter", "l", "f", "e", "k", "u")] == [
            "enter",
            "l",
            "f",
            "e",
            "k",
            "u",
        ]
        assert "m" not in keys  # move takes a process
        await pilot.press("k")  # a signal to its init: the change path's form
        await pilot.pause()
        form = app.screen
        assert isinstance(form, KillScreen) and form.selection is not None and form.selection.pid == 530
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("4")
        await drawn(pilot)
        processes = table_of(app)
        processes.move_cursor(row=processes.shown_keys.index("531"))  # nginx's worker, in a container
        await settled(pilot)
        assert {"enter", "l", "m", "f", "e", "u"} <= set(footer_keys(app))
        processes.move_cursor(row=processes.shown_keys.index("1020"))  # a host process: no freeze
        await settled(pilot)
        keys = footer_keys(app)
        assert {"l", "m", "e"} <= set(keys) and "f" not in keys


async def test_help_opens_with_cgscopes_actions_then_the_panes_then_views(
    host: FakeHost, make_app: AppFactory
) -> None:
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        table = table_of(app)
        table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
        await pilot.press("enter")
        await drawn(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        lines = str(app.screen.query_one("#keys").render()).splitlines()
        first = [line.split()[0] for line in lines[:20] if line.strip()]
        sections = [line.strip() for line in lines if line.startswith(" " * 12) and line.strip()]
        assert sections[:3] == ["Actions on the selection", "Panes of the detail", "Views"]
        at = {key: first.index(key) for key in ("l", "m", "f", "u", "e", "s", "p", "n", "g", "o", "1")}
        assert max(at[k] for k in "lmfue") < min(at[k] for k in "spngo") < at["1"]
        help_box = app.screen.query_one("#help")
        assert help_box.region.height <= 24 and at["o"] < help_box.region.height - 2  # on the first page


async def until(pilot: object, done: object, what: str) -> None:
    deadline = time.monotonic() + 10
    while not done():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await pilot.pause()  # type: ignore[attr-defined]
        await asyncio.sleep(0.01)


async def test_command_palette_lists_every_action_by_name(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host, why_read_only="started with --read-only")
    async with app.run_test(size=(100, 30)) as pilot:
        await drawn(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("limit…", "move…", "freeze", "shell inside", "undo", "keys", "view: processes"):
            assert title in titles
        table = table_of(app)
        table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"shell inside")
        await pilot.pause(0.3)
        await pilot.press("enter")

        def refused() -> bool:
            return any("a shell inside is off" in n.message for n in app._notifications)

        await until(pilot, refused, "the shell's refusal, as the key says it")


async def test_the_forms_fit_80x24_whole(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host, read_only=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        table = table_of(app)
        table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
        for key in ("l", "k"):
            await pilot.press(key)
            await pilot.pause()
            form = app.screen.query_one("#change")
            assert form.max_scroll_y == 0  # nothing to scroll to: every field and button in view
            screen = app.screen.region
            for widget in [*form.query("Input, Select"), *form.query("Button")]:
                assert screen.contains_region(widget.region), widget
            await pilot.press("escape")
            await pilot.pause()
