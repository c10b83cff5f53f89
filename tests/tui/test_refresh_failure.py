"""A refresh that fails never ends the dashboard: the last Frame stays on screen, the header says in one
line what failed, and the next refresh tries again (and the line goes once one succeeds)."""

from __future__ import annotations

from fakehost import FakeHost
from hosts.dashboard import DOCKER_CG
from textual.widgets import Label

from cgscope.tui.widgets.header import HostHeader

from .conftest import AppFactory, drawn, refreshed
from .test_escapes_dashboard import until


async def test_a_malformed_file_is_said_and_the_dashboard_stays(host: FakeHost, make_app: AppFactory) -> None:
    stat = host.path(f"/sys/fs/cgroup{DOCKER_CG}/memory.stat")
    good = stat.read_text()
    app = make_app(host)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await drawn(pilot)
        last = app.frame
        failure = screen.query_one("#failure", Label)
        header = screen.query_one(HostHeader)
        assert not failure.display

        def said(line: str) -> bool:
            return str(failure.content) == line and failure.display

        stat.write_text(good + "foo\n")
        await pilot.press("r")
        await until(pilot, lambda: said(f"refresh failed: {stat}: unexpected line 'foo'"), "the failure line")
        assert app.is_running and app.frame is last and screen.drawn is last  # the last Frame stays
        await pilot.pause()
        assert "refresh failed: " in app.export_screenshot().replace("&#160;", " ")  # drawn

        stat.write_text(good)  # fixed: the next refresh succeeds and the line goes
        await refreshed(pilot)
        await until(pilot, lambda: not failure.display and not header.has_class("-failed"), "no failure")
        assert app.frame is not last and str(failure.content) == ""

        stat.unlink()  # an errno nothing expects (EISDIR from read(2)): said too, with the file
        stat.mkdir()
        await pilot.press("r")
        await until(pilot, lambda: said(f"refresh failed: {stat}: Is a directory"), "the errno")
        assert app.is_running
        stat.rmdir()
        stat.write_text(good)
        await refreshed(pilot)
        await until(pilot, lambda: not failure.display, "no failure")


async def test_a_failure_is_still_said_in_another_view(host: FakeHost, make_app: AppFactory) -> None:
    stat = host.path(f"/sys/fs/cgroup{DOCKER_CG}/memory.stat")
    app = make_app(host)
    async with app.run_test(size=(160, 40)) as pilot:
        await drawn(pilot)
        stat.write_text("foo\n")
        await pilot.press("r")
        await until(pilot, lambda: app.failure is not None, "the failure")
        await pilot.press("3")  # the namespaces view, made now: its header says it too
        await until(
            pilot, lambda: "refresh failed" in str(app.screen.query_one("#failure", Label).content), "said"
        )
