"""The dashboard on fixed fake hosts: an app factory and a helper that waits for a refresh to be drawn."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fakehost import FakeHost
from hosts.dashboard import dashboard_host
from textual.pilot import Pilot
from textual.widgets import Label

from cgscope.fs.hostroot import HostRoot
from cgscope.sampling import Sampler
from cgscope.tui.app import CgscopeApp
from cgscope.tui.screens.base import DataScreen
from cgscope.tui.widgets.header import HostHeader
from cgscope.tui.widgets.table import SortableTable

SLOW = 30.0  # a refresh interval no test waits for: tests refresh with "r" or when a view opens

AppFactory = Callable[..., CgscopeApp]


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    return dashboard_host(tmp_path)


@pytest.fixture
def make_app() -> AppFactory:
    def make(h: FakeHost, **kwargs: object) -> CgscopeApp:
        options: dict[str, object] = {"interval": SLOW, "read_only": True, "clock": False, **kwargs}
        return CgscopeApp(Sampler(HostRoot.at(h.root)), **options)  # type: ignore[arg-type]

    return make


async def drawn(pilot: Pilot[int], timeout: float = 10.0) -> DataScreen:
    """Wait until the screen on top has drawn the latest Frame, and that Frame holds all it shows."""
    app = pilot.app
    assert isinstance(app, CgscopeApp)
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        screen = app.screen
        frame = app.frame
        if (
            isinstance(screen, DataScreen)
            and frame is not None
            and screen.drawn is frame
            and screen.complete(frame)
            and sized(screen)
        ):
            await pilot.pause()
            return screen
        if time.monotonic() > deadline:
            raise TimeoutError(f"{type(screen).__name__} drew no Frame in {timeout} s")
        await asyncio.sleep(0.01)


def sized(screen: DataScreen) -> bool:
    """True once each table's scrollable area holds its rows and the header."""
    return all(t.virtual_size.height == len(t.shown_keys) + 1 for t in screen.query(SortableTable))


async def refreshed(pilot: Pilot[int]) -> DataScreen:
    """Ask for a refresh ("r") and wait until the screen has drawn it."""
    app = pilot.app
    assert isinstance(app, CgscopeApp)
    before = app.frame.number if app.frame else 0
    await pilot.press("r")
    deadline = time.monotonic() + 10
    while app.frame is None or app.frame.number <= before:
        if time.monotonic() > deadline:
            raise TimeoutError("no refresh")
        await asyncio.sleep(0.01)
    return await drawn(pilot)


def header_text(app: CgscopeApp) -> str:
    header = app.screen.query_one(HostHeader)
    return " ".join(str(label.render()) for label in header.query(Label) if label.display)
