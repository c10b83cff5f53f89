"""The change keys on a fixture host: the forms refuse what the CLI refuses with its message, show the
plan's writes, and only a confirmed plan reaches the control layer (FixtureFiles records each write)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from controlfake import FixtureFiles, add_interface_files
from fakehost import FakeHost
from hosts.dashboard import DOCKER_CG, DOCKER_ID, dashboard_host
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from cgscope.cli import main
from cgscope.control.journal import Journal
from cgscope.fs.hostroot import HostRoot
from cgscope.tui.actions import Controls, Selection
from cgscope.tui.app import CgscopeApp
from cgscope.tui.screens.change import (
    ChangeScreen,
    FreezeScreen,
    KillScreen,
    LimitScreen,
    MoveScreen,
    UndoScreen,
)
from cgscope.tui.widgets.table import SortableTable

from .conftest import AppFactory, drawn

DOCKER_CPU_MAX = f"sys/fs/cgroup{DOCKER_CG}/cpu.max"


@pytest.fixture
def fake(tmp_path: Path) -> FakeHost:
    """The dashboard's host with the interface files of every cgroup, as the control layer needs."""
    h = dashboard_host(tmp_path / "host")
    h.write("/sys/devices/system/cpu/online", "0-3\n")
    add_interface_files(h)
    return h


@pytest.fixture
def files(fake: FakeHost) -> FixtureFiles:
    return FixtureFiles(fake)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "state" / "journal.jsonl")


@pytest.fixture
def acting(make_app: AppFactory, fake: FakeHost, files: FixtureFiles, journal: Journal) -> CgscopeApp:
    controls = Controls(HostRoot.at(fake.root), journal=journal, files=files)
    return make_app(fake, read_only=False, controls=controls)


def cli_message(fake: FakeHost, *argv: str) -> str:
    """What `cgscope --root FAKE ARGV` says on stderr, without its "cgscope: " prefix."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["--root", str(fake.root), *argv]) == 1
    return err.getvalue().strip().removeprefix("cgscope: ")


async def select_docker(pilot: Pilot[int]) -> None:
    await drawn(pilot)
    table = pilot.app.screen.query_one(SortableTable)
    table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
    await pilot.pause()


async def until(pilot: Pilot[int], done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await pilot.pause()
        await asyncio.sleep(0.01)


AnyForm = ChangeScreen[Any, Any]


async def open_form(pilot: Pilot[int], key: str, kind: type[AnyForm]) -> AnyForm:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, kind), f"the {kind.__name__}")
    await pilot.pause()
    form = pilot.app.screen
    assert isinstance(form, kind)
    return form


def error_of(screen: AnyForm) -> str:
    return str(screen.query_one("#error", Label).render())


def plan_of(screen: AnyForm) -> str:
    rendered = screen.query_one("#plan", Static).render()
    return rendered.plain if isinstance(rendered, Text) else str(rendered)


async def planned(pilot: Pilot[int], form: AnyForm) -> None:
    """Wait until the form's worker has planned: its writes or the refusal are shown."""
    await until(pilot, lambda: plan_of(form) not in ("", "planning…") or error_of(form) != "", "the plan")


def notes(app: CgscopeApp) -> list[str]:
    return [n.message for n in app._notifications]


@pytest.mark.parametrize(
    "case",
    [
        ("cpu", "abc", "--cpu"),
        ("cpu", "0%", "--cpu"),
        ("memory", "12Q", "--memory"),
        ("pids", "ten", "--pids"),
        ("cpuset", "1-0", "--cpuset"),
        ("cpu_weight", "0", "--cpu-weight"),
    ],
)
async def test_limit_form_refuses_bad_input_as_one_types_with_the_cli_message(
    acting: CgscopeApp,
    fake: FakeHost,
    files: FixtureFiles,
    journal: Journal,
    case: tuple[str, str, str],
) -> None:
    field, text, option = case
    expected = cli_message(fake, "limit", "web", option, text)
    async with acting.run_test(size=(100, 40)) as pilot:
        await select_docker(pilot)
        form = await open_form(pilot, "l", LimitScreen)
        form.query_one(f"#{field}", Input).focus()
        await pilot.press(*text)  # each key is checked as it is typed
        await pilot.pause()
        assert error_of(form) == expected
        await pilot.press("enter")  # a preview of a bad request is refused too
        await pilot.pause()
        assert error_of(form) == expected
        assert form.query_one("#apply", Button).disabled
        await pilot.click("#apply")
        await pilot.press("escape")
        await pilot.pause()
    assert files.calls == []
    assert not journal.path.exists()


async def test_limit_form_refuses_what_only_the_plan_knows(acting: CgscopeApp, fake: FakeHost) -> None:
    """A limit above the host's CPUs is refused when the preview plans it, with the CLI's message."""
    expected = cli_message(fake, "limit", "web", "--cpu", "5")
    async with acting.run_test(size=(100, 40)) as pilot:
        await select_docker(pilot)
        form = await open_form(pilot, "l", LimitScreen)
        await pilot.press(*"5", "enter")
        await planned(pilot, form)
        assert error_of(form) == expected
        assert "more than the 4 CPU(s)" in expected


async def test_limit_form_previews_the_writes_and_confirm_applies_them(
    acting: CgscopeApp, fake: FakeHost, files: FixtureFiles, journal: Journal
) -> None:
    async with acting.run_test(size=(100, 40)) as pilot:
        await select_docker(pilot)
        form = await open_form(pilot, "l", LimitScreen)
        await pilot.press(*"20%")
        await pilot.pause()
        assert error_of(form) == ""
        await pilot.press("enter")  # preview: the dry run's lines
        await planned(pilot, form)
        shown = plan_of(form)
        assert shown.startswith("cgscope will limit container web (docker):")
        assert f"write /sys/fs/cgroup{DOCKER_CG}/cpu.max = '20000 100000'   (was '50000 100000')" in shown
        assert files.calls == []  # nothing written before Apply
        assert acting.focused is form.query_one("#apply", Button)
        await pilot.press("enter")  # Apply
        await until(pilot, lambda: bool(journal.path.exists() and journal.changes()), "the change")
        await until(pilot, lambda: any(m.startswith("change 1:") for m in notes(acting)), "its notice")
    assert files.calls == [("write", DOCKER_CPU_MAX, "20000 100000")]
    [change] = journal.changes()
    assert (change.action, change.status) == ("limit", "applied")
    assert list(change.command) == ["limit", DOCKER_ID, "--cpu", "20%"]
    assert fake.path("/" + DOCKER_CPU_MAX).read_text().strip() == "20000 100000"


async def test_undo_previews_asks_and_restores_through_the_control_layer(
    acting: CgscopeApp, fake: FakeHost, journal: Journal
) -> None:
    async with acting.run_test(size=(100, 40)) as pilot:
        await select_docker(pilot)
        form = await open_form(pilot, "l", LimitScreen)
        await pilot.press(*"1.5", "enter")
        await planned(pilot, form)
        await pilot.press("enter")
        await until(pilot, lambda: bool(journal.path.exists() and journal.changes()), "the change")
        assert fake.path("/" + DOCKER_CPU_MAX).read_text().strip() == "150000 100000"
        undo = await open_form(pilot, "u", UndoScreen)  # a preview first: nothing is restored yet
        await planned(pilot, undo)
        shown = plan_of(undo)
        assert shown.startswith("cgscope would undo change 1: limit container web (docker):")
        assert f"write /{DOCKER_CPU_MAX} = '50000 100000'   (holds '150000 100000')" in shown
        assert journal.changes()[0].status == "applied"
        assert fake.path("/" + DOCKER_CPU_MAX).read_text().strip() == "150000 100000"
        assert acting.focused is undo.query_one("#apply", Button)
        await pilot.press("enter")  # Apply
        await until(pilot, lambda: journal.changes()[0].status == "undone", "the undo")
        await until(pilot, lambda: any(m.startswith("undid change 1") for m in notes(acting)), "its notice")
        assert fake.path("/" + DOCKER_CPU_MAX).read_text().strip() == "50000 100000"
        undo = await open_form(pilot, "u", UndoScreen)  # nothing left: the CLI's message, no Apply
        await planned(pilot, undo)
        assert error_of(undo).startswith("nothing to undo")
        assert undo.query_one("#apply", Button).disabled
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(acting.screen, ChangeScreen)
    assert len(journal.changes()) == 1


async def test_move_form_checks_the_path_and_creates_with_the_option(
    acting: CgscopeApp, fake: FakeHost, files: FixtureFiles
) -> None:
    async with acting.run_test(size=(100, 40)) as pilot:
        await drawn(pilot)
        await pilot.press("m")  # the containers list selects no single process
        await until(pilot, lambda: any("select a process" in m for m in notes(acting)), "the hint")
        await pilot.press("4")
        await drawn(pilot)
        table = acting.screen.query_one(SortableTable)
        table.move_cursor(row=table.shown_keys.index("1020"))
        form = await open_form(pilot, "m", MoveScreen)
        await pilot.press(*"/a/../b")
        assert error_of(form) == cli_message(fake, "move", "1020", "/a/../b")
        form.query_one("#cgroup", Input).value = "/jobs"
        await pilot.press("enter")
        await planned(pilot, form)
        assert error_of(form) == cli_message(fake, "move", "1020", "/jobs")  # "add --create"
        form.query_one("#create", Checkbox).value = True
        await pilot.pause()
        form.query_one("#cgroup", Input).focus()
        await pilot.press("enter")
        await planned(pilot, form)
        assert "mkdir /sys/fs/cgroup/jobs" in plan_of(form)
        await pilot.click("#apply")
        await until(pilot, lambda: any(c[0] == "write" for c in files.calls), "the move")
    assert files.calls == [
        ("mkdir", "sys/fs/cgroup/jobs", ""),
        ("write", "sys/fs/cgroup/jobs/cgroup.procs", "1020"),
    ]


async def test_freeze_previews_and_cancel_writes_nothing(acting: CgscopeApp, files: FixtureFiles) -> None:
    async with acting.run_test(size=(100, 40)) as pilot:
        await select_docker(pilot)
        form = await open_form(pilot, "f", FreezeScreen)
        await planned(pilot, form)
        assert f"write /sys/fs/cgroup{DOCKER_CG}/cgroup.freeze = 1   (was 0)" in plan_of(form)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(acting.screen, ChangeScreen)
    assert files.calls == []


async def test_host_row_and_read_only_refuse_with_a_notice(
    make_app: AppFactory, fake: FakeHost, acting: CgscopeApp
) -> None:
    async with acting.run_test(size=(100, 40)) as pilot:
        await drawn(pilot)
        table = acting.screen.query_one(SortableTable)
        table.move_cursor(row=table.shown_keys.index("(host)"))
        await pilot.press("l")
        await until(pilot, lambda: any("the host itself" in m for m in notes(acting)), "the hint")
        assert not isinstance(acting.screen, ChangeScreen)
    app = make_app(fake, read_only=True, why_read_only="started with --read-only")
    async with app.run_test(size=(100, 40)) as pilot:
        await select_docker(pilot)
        for key in "lmfue":
            await pilot.press(key)
        await pilot.pause()
        assert not isinstance(app.screen, ChangeScreen)
        said = notes(app)
        assert len(said) == 5
        assert all(m.startswith("read-only (started with --read-only): ") for m in said)


async def test_forms_read_their_fields_on_the_ui_thread_only(
    acting: CgscopeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker that plans is handed the fields; widgets are touched on the UI thread alone."""
    touched: list[str] = []
    query_one = ChangeScreen.query_one

    def recording(self: AnyForm, *args: Any, **kwargs: Any) -> Any:
        touched.append(threading.current_thread().name)
        return query_one(self, *args, **kwargs)

    monkeypatch.setattr(ChangeScreen, "query_one", recording)
    async with acting.run_test(size=(100, 40)) as pilot:
        await select_docker(pilot)
        form = await open_form(pilot, "l", LimitScreen)
        await pilot.press(*"20%", "enter")
        await planned(pilot, form)
        assert plan_of(form).startswith("cgscope will limit container web")
        await pilot.press("escape")
        await pilot.press("4")
        await drawn(pilot)
        table = acting.screen.query_one(SortableTable)
        table.move_cursor(row=table.shown_keys.index("1020"))
        form = await open_form(pilot, "m", MoveScreen)
        await pilot.press(*"/jobs", "enter")
        await planned(pilot, form)
    assert touched and set(touched) == {threading.main_thread().name}


async def test_the_signal_form_previews_and_sends_through_the_control_layer(
    acting: CgscopeApp, files: FixtureFiles, journal: Journal
) -> None:
    """What the processes view's `k` opens: a signal picker, the plan, Apply."""
    async with acting.run_test(size=(100, 40)) as pilot:
        await drawn(pilot)
        selection = Selection("process", "1020", 1020, "process 1020")
        acting.push_screen(KillScreen(acting.controls, selection), acting._confirmed)
        await until(pilot, lambda: isinstance(acting.screen, KillScreen), "the signal form")
        await pilot.pause()
        form = acting.screen
        assert isinstance(form, KillScreen)
        await planned(pilot, form)
        assert "kill 1020 with SIGTERM" in plan_of(form)
        form.query_one("#signal", Select).value = "KILL"
        await until(pilot, lambda: "kill 1020 with SIGKILL" in plan_of(form), "the new plan")
        assert files.calls == []
        await pilot.click("#apply")
        await until(pilot, lambda: bool(files.calls), "the signal")
    assert files.calls == [("signal", "1020", str(int(signal.SIGKILL)))]
    [change] = journal.changes()
    assert (change.action, change.command) == ("kill", ("kill", "1020", "-s", "KILL"))
