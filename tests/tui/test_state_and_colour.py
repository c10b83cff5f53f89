"""Frozen and paused containers, the figures near their limits in the theme's colours, the trends on a
fixed scale, and the header's memory as the host's row shows it (Pilot, on the fixture host)."""

from __future__ import annotations

import json

from fakehost import FakeHost
from hosts.dashboard import DOCKER_CG, DOCKER_ID, MIB, PODMAN_CG, PODMAN_ID
from rich.style import Style
from textual.color import Color
from textual.strip import Strip

from cgscope.render.columns.containers import HOST
from cgscope.tui.app import CgscopeApp
from cgscope.tui.widgets.table import SortableTable
from cgscope.tui.widgets.trend import bars

from .conftest import AppFactory, drawn, header_text, refreshed


def table_of(app: CgscopeApp, selector: str = "SortableTable") -> SortableTable[object]:
    return app.screen.query_one(selector, SortableTable)


def freeze(host: FakeHost, cgroup: str, frozen: bool = True) -> None:
    """cgroup.events as the kernel writes it once every task of the cgroup is frozen (or thawed)."""
    host.write(f"/sys/fs/cgroup{cgroup}/cgroup.events", f"populated 1\nfrozen {int(frozen)}\n")


def docker_paused(host: FakeHost, paused: bool) -> None:
    """What `docker pause` records in the container's config.v2.json (State.Paused)."""
    path = host.path(f"/var/lib/docker/containers/{DOCKER_ID}/config.v2.json")
    data = json.loads(path.read_text())
    data["State"]["Paused"] = paused
    path.write_text(json.dumps(data) + "\n")


def working_set(host: FakeHost, cgroup: str, current: int, inactive_file: int) -> None:
    d = f"/sys/fs/cgroup{cgroup}"
    host.write(f"{d}/memory.current", f"{current}\n")
    host.write(
        f"{d}/memory.stat", f"anon {current // 2}\nfile {current // 2}\ninactive_file {inactive_file}\n"
    )


async def test_state_says_running_frozen_or_paused_by_the_runtime(
    host: FakeHost, make_app: AppFactory
) -> None:
    freeze(host, DOCKER_CG)
    docker_paused(host, True)  # `docker pause web`
    freeze(host, PODMAN_CG)  # `cgscope freeze db`: Podman's record is left as it was
    app = make_app(host)
    async with app.run_test(size=(100, 30)) as pilot:
        await drawn(pilot)
        table = table_of(app)
        assert table.cell(DOCKER_ID, "state").text == "paused"
        assert table.cell(PODMAN_ID, "state").text == "frozen"
        assert table.cell(HOST, "state").text == "-"
        assert table.cell(DOCKER_ID, "state").level == "warning"
        freeze(host, DOCKER_CG, frozen=False)  # `cgscope thaw web`: Docker still says Paused
        await refreshed(pilot)
        assert table.cell(DOCKER_ID, "state").text == "running"
        assert table.cell(DOCKER_ID, "state").level == "warning"
        table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
        await pilot.press("enter")
        detail = await drawn(pilot)
        assert " · running · " in str(detail.query_one("#summary").render())
        usage = str(detail.query_one("#usage-text").render())
        assert usage.splitlines()[0].startswith("state   running · docker records it paused")
        assert "'docker unpause' fails" in usage


def styled(line: Strip, text: str) -> Style:
    """The style of the segment of a drawn line that holds `text`."""
    style = next(s.style for s in line if text in s.text)
    assert style is not None
    return style


async def test_figures_near_a_limit_take_the_themes_colours_and_empty_bars_are_quiet(
    host: FakeHost, make_app: AppFactory
) -> None:
    working_set(host, DOCKER_CG, 260 * MIB, 10 * MIB)  # 250M of 256M: past 95 %
    working_set(host, PODMAN_CG, 900 * MIB, 60 * MIB)  # 840M of 1G: past 80 %
    app = make_app(host)
    async with app.run_test(size=(100, 30)) as pilot:
        await drawn(pilot)
        table = table_of(app)
        assert table.cell(DOCKER_ID, "memory").text == "250M/256M"  # the working set, not the 260M used
        assert table.cell(DOCKER_ID, "memory").level == "error"
        assert table.cell(PODMAN_ID, "memory").level == "warning"
        assert table.cell(PODMAN_ID, "oom").level == "error"  # the fixture's two OOM kills
        palette = table.palette
        web = table.render_line(1 + table.shown_keys.index(DOCKER_ID))
        assert styled(web, "250M/256M").color == palette.error.color
        assert styled(web, "web").color == palette.error.color
        db = table.render_line(1 + table.shown_keys.index(PODMAN_ID))
        assert styled(db, "840M/1.0G").color == palette.warning.color
        assert styled(db, "░").color == palette.track.color
        assert palette.track.color != palette.bar.color
        theme = app.theme_variables  # the colours are the theme's
        assert palette.warning.color == Color.parse(theme["text-warning"]).rich_color
        assert palette.error.color == Color.parse(theme["text-error"]).rich_color


def test_a_steady_value_draws_steady_bars_on_a_fixed_scale() -> None:
    assert bars([20.0, 20.0, 20.0], 100.0, 3) == ["   ", "   ", "▅▅▅"]  # a fifth of three lines
    assert bars([0.0, 100.0, 250.0], 100.0, 2) == [" ██", " ██"]  # clipped at the top of the scale
    assert bars([0.1], 100.0, 2) == [" ", "▁"]  # above 0: at least an eighth


async def test_header_memory_is_the_hosts_row_and_says_which_figure(
    host: FakeHost, make_app: AppFactory
) -> None:
    app = make_app(host)
    async with app.run_test(size=(100, 30)) as pilot:
        await drawn(pilot)
        host_row = table_of(app).cell(HOST, "memory").text
        assert f"mem (wset) {host_row} " in header_text(app)
