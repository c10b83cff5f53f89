"""The dashboard on this machine: a container made by the test gets 20 % of a CPU through the limit
form, the kernel's file holds the quota, and `u` restores it. The journal goes to a temporary
CGSCOPE_STATE; every cgroup made is removed afterwards."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest
from live.containers import bare_container, cgroup_hierarchies
from textual.pilot import Pilot
from textual.widgets import Button, Static

from cgscope.cli import main
from cgscope.control.journal import Journal
from cgscope.fs.hostroot import HostRoot
from cgscope.sampling import Sampler
from cgscope.tui.app import CgscopeApp
from cgscope.tui.screens.change import LimitScreen, UndoScreen
from cgscope.tui.widgets.table import SortableTable

from .conftest import SLOW, drawn, refreshed

pytestmark = pytest.mark.live


def cpu_dir() -> Path:
    found = [h for h in cgroup_hierarchies() if h.version == 1 and "cpu" in h.key.split(",")]
    if os.geteuid() != 0 or shutil.which("unshare") is None or not found:
        pytest.skip("needs root, unshare and a cgroup v1 cpu hierarchy (this project's hybrid VM)")
    return found[0].mountpoint


async def test_limit_cpu_to_20_percent_through_the_form_and_undo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cpu = cpu_dir()
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    journal = Journal.default()
    with bare_container() as box:
        quota = cpu / box.cgroup_path.lstrip("/") / "cpu.cfs_quota_us"
        period = quota.with_name("cpu.cfs_period_us")
        assert quota.read_text().strip() == "-1"
        app = CgscopeApp(Sampler(HostRoot.at(Path("/"))), interval=SLOW, read_only=False, clock=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await drawn(pilot)
            key = f"pid-{box.namespaces['pid']}"
            table = app.screen.query_one(SortableTable)
            if key not in table.shown_keys:  # made between two refreshes
                await refreshed(pilot)
                table = app.screen.query_one(SortableTable)
            table.move_cursor(row=table.shown_keys.index(key))
            await pilot.pause()
            await pilot.press("l")
            deadline = time.monotonic() + 10
            while not isinstance(app.screen, LimitScreen):
                assert time.monotonic() < deadline, "no limit form"
                await pilot.pause()
            await pilot.pause()
            await pilot.press(*"20%", "enter")
            plan = app.screen.query_one("#plan", Static)
            while str(plan.render()) in ("", "planning…"):  # planned by a worker
                assert time.monotonic() < deadline + 10, "no plan"
                await pilot.pause()
                await asyncio.sleep(0.02)
            preview = str(plan.render())
            assert f"{box.cgroup_path}/cpu.cfs_quota_us = 20000" in preview
            await pilot.press("enter")  # Apply
            while not (journal.path.exists() and journal.changes()):
                assert time.monotonic() < deadline + 10, "not applied"
                await asyncio.sleep(0.05)
            assert quota.read_text().strip() == "20000"
            assert period.read_text().strip() == "100000"
            [change] = journal.changes()
            assert change.status == "applied", change.error
            await undo_through_the_form(pilot, app, f"{box.cgroup_path}/cpu.cfs_quota_us = '-1'")
            while journal.changes()[0].status != "undone":
                assert time.monotonic() < deadline + 20, "not undone"
                await asyncio.sleep(0.05)
            assert quota.read_text().strip() == "-1"
            assert period.read_text().strip() == "100000"
    assert not [h for h in cgroup_hierarchies() if (h.mountpoint / box.name).exists()]  # cleaned up


async def undo_through_the_form(pilot: Pilot[int], app: CgscopeApp, write: str) -> None:
    """`u`: wait for the undo's preview, check it shows `write`, and Apply."""
    await pilot.press("u")
    deadline = time.monotonic() + 20
    while not (isinstance(app.screen, UndoScreen) and not app.screen.query_one("#apply", Button).disabled):
        assert time.monotonic() < deadline, "no undo preview"
        await pilot.pause()
        await asyncio.sleep(0.02)
    assert write in str(app.screen.query_one("#plan", Static).render())
    await pilot.press("enter")


async def test_detail_of_a_live_container_shows_inspect_and_the_view_inside(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cpu_dir()
    with bare_container() as box:
        key = f"pid-{box.namespaces['pid']}"
        assert main(["inspect", "--no-sizes", key]) == 0
        heading = capsys.readouterr().out.splitlines()[0]
        app = CgscopeApp(Sampler(HostRoot.at(Path("/"))), interval=SLOW, read_only=True, clock=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await drawn(pilot)
            table = app.screen.query_one(SortableTable)
            if key not in table.shown_keys:
                await refreshed(pilot)
                table = app.screen.query_one(SortableTable)
            table.move_cursor(row=table.shown_keys.index(key))
            await pilot.press("enter")
            detail = await drawn(pilot)
            inside = str(detail.query_one("#inside-text", Static).render())
            assert inside.splitlines()[0].startswith("nproc   ")
            await pilot.press("o")
            pane = detail.query_one("#isolation-text", Static)
            deadline = time.monotonic() + 20
            while str(pane.render()) in ("reading…", "read when this pane opens"):
                assert time.monotonic() < deadline, "no inspection"
                await asyncio.sleep(0.05)
            assert str(pane.render()).splitlines()[0] == heading
