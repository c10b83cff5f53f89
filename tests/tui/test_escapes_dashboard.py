"""The dashboard shows the strings other users choose (the hostname, a container's name, a command line,
cgroup names, a mount's source, error messages) with their escapes made visible, never raw and never as
markup: in the header, the tables, the cgroup tree, a container's detail and isolation pane, the change
form's title and notifications. What reaches the terminal is checked on the screen as Textual exports it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from controlfake import FixtureFiles, add_interface_files
from fakehost import FakeHost
from helpers import CGROUP, EVIL, RAW, SHOWN, octal
from hosts.dashboard import DOCKER_ID, dashboard_host
from hosts.docker_detail import DOCKER_MOUNTINFO
from textual.pilot import Pilot
from textual.widgets import Label

from cgscope.control.journal import Journal
from cgscope.fs.hostroot import HostRoot
from cgscope.tui.actions import Controls
from cgscope.tui.app import CgscopeApp, SampleFailed
from cgscope.tui.screens.change import LimitScreen
from cgscope.tui.widgets.table import SortableTable

from .conftest import AppFactory, drawn

MARKUP = "[@click=app.quit]x[/]"  # a container name that would be an action, read as markup


@pytest.fixture
def evil(tmp_path: Path) -> FakeHost:
    h = dashboard_host(tmp_path / "host")
    h.write("/proc/sys/kernel/hostname", EVIL + "\n")
    h.docker_container(DOCKER_ID, EVIL + MARKUP, 530)
    h.write(
        "/proc/530/mountinfo", DOCKER_MOUNTINFO.replace(" - overlay overlay ", f" - overlay {octal(EVIL)} ")
    )
    for name in ("uid_map", "gid_map"):
        h.write(f"/proc/530/{name}", "         0          0 4294967295\n")
    h.add_process(800, EVIL, [EVIL, "--flag"], cgroup=f"/{CGROUP}")
    h.add_cgroup(f"/{EVIL}")
    add_interface_files(h)
    return h


def screen_text(app: CgscopeApp) -> str:
    svg = app.export_screenshot()
    assert not any(c in svg for c in RAW)
    return svg.replace("&#160;", " ")


async def until(pilot: Pilot[int], done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await pilot.pause()
        await asyncio.sleep(0.01)


async def test_every_view_shows_the_escapes(evil: FakeHost, make_app: AppFactory) -> None:
    app = make_app(evil)
    async with app.run_test(size=(160, 40)) as pilot:
        await drawn(pilot)
        text = screen_text(app)
        assert SHOWN in text  # the header's hostname; the container's name, in the table
        assert "x\\x1b]0;pwned\\x07\\x1b[2J\\nnext\\x9bm[@click=app.quit]x[/]" in text  # not markup
        for key in ("2", "4"):  # the cgroup tree, the processes
            await pilot.press(key)
            await drawn(pilot)
            assert SHOWN in screen_text(app), key
        await pilot.press("1")
        await drawn(pilot)
        table = app.screen.query_one(SortableTable)
        table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
        await pilot.press("enter")
        detail = await drawn(pilot)
        assert SHOWN in screen_text(app)  # the detail's summary
        await pilot.press("o")
        pane = detail.query_one("#isolation-text")
        await until(pilot, lambda: "pwned" in str(pane.render()), "the isolation pane")
        assert f"overlay ({SHOWN})" in str(pane.render())
        screen_text(app)
        app.post_message(SampleFailed(f"cgscope could not read {EVIL}{MARKUP}"))  # as a failed refresh says
        failure = detail.query_one("#failure", Label)
        shown = f"cgscope could not read {SHOWN}{MARKUP}"
        await until(pilot, lambda: str(failure.content) == shown, "the failure line")
        screen_text(app)  # the header's failure line is drawn: nothing raw in it


async def test_the_change_form_shows_the_escapes_in_its_title(
    evil: FakeHost, make_app: AppFactory, tmp_path: Path
) -> None:
    controls = Controls(
        HostRoot.at(evil.root),
        journal=Journal(tmp_path / "state" / "journal.jsonl"),
        files=FixtureFiles(evil),
    )
    app = make_app(evil, read_only=False, controls=controls)
    async with app.run_test(size=(160, 40)) as pilot:
        await drawn(pilot)
        table = app.screen.query_one(SortableTable)
        table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LimitScreen), "the limit form")
        await pilot.pause()
        assert SHOWN in screen_text(app)
