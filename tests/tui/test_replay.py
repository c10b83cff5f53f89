"""`cgscope replay` driven by keys (Textual's Pilot) on a stretch the real store recorded
(history_fixture.py): the header says REPLAY and the frame's time, `[` `]` step, `}` `{` jump to the
events, `t` and `--at` go to the nearest frame, nothing can be changed, and the views that need what is
not recorded say so."""

from __future__ import annotations

import asyncio
import io
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from history_fixture import FRAMES, OOM, RAISED, T0, at, record_fixture
from hosts.counters import CID
from textual.pilot import Pilot
from textual.widgets import Input, Label

from cgscope.cli import main
from cgscope.fs.hostroot import HostRoot
from cgscope.history import shard
from cgscope.history.replay import Replay
from cgscope.history.store import index, shards
from cgscope.tui.replay import ReplayApp
from cgscope.tui.screens.container_detail import ContainerDetailScreen
from cgscope.tui.screens.containers import ContainersScreen
from cgscope.tui.screens.goto import GotoScreen
from cgscope.tui.widgets.trend import Trend

from .conftest import drawn, header_text


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The store, and the host root it was recorded on."""
    store, host = tmp_path_factory.mktemp("history"), tmp_path_factory.mktemp("host")
    record_fixture(store, host)
    return store, host / "root"


def replay_of(recorded: tuple[Path, Path]) -> Replay:
    store, root = recorded
    return Replay(HostRoot.at(root), index(store))


def stamp(i: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at(i)))


def notes(app: ReplayApp) -> list[str]:
    return [n.message for n in app._notifications]


async def until(pilot: Pilot[int], ok: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not ok():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await pilot.pause()
        await asyncio.sleep(0.01)


async def at_frame(pilot: Pilot[int], i: int) -> None:
    app = pilot.app
    assert isinstance(app, ReplayApp)
    await until(pilot, lambda: app.frame is not None and app.frame.taken_at == at(i), f"frame {i}")
    await drawn(pilot)


async def test_the_header_says_replay_and_the_frames_time(recorded: tuple[Path, Path]) -> None:
    app = ReplayApp(replay_of(recorded), clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await drawn(pilot)
        assert isinstance(screen, ContainersScreen)
        text = header_text(app)
        assert f"REPLAY {stamp(0)} · frame 1/{FRAMES} · load" in text
        assert "every" not in text and "READ-ONLY" in text
        assert screen.table.cell(CID, "name").text == "web"


async def test_brackets_step_one_frame(recorded: tuple[Path, Path]) -> None:
    app = ReplayApp(replay_of(recorded), clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await drawn(pilot)
        await pilot.press("right_square_bracket")
        await at_frame(pilot, 1)
        assert f"REPLAY {stamp(1)} · frame 2/{FRAMES}" in header_text(app)
        await pilot.press("left_square_bracket", "left_square_bracket")
        await at_frame(pilot, 0)
        await until(pilot, lambda: "the first frame recorded" in notes(app), "the first frame said")


async def test_braces_jump_to_the_events(recorded: tuple[Path, Path]) -> None:
    app = ReplayApp(replay_of(recorded), clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await drawn(pilot)
        await pilot.press("right_curly_bracket")
        await at_frame(pilot, OOM)
        await until(pilot, lambda: any("killed 4243 (nginx)" in n for n in notes(app)), "the OOM kill said")
        screen = app.screen
        assert isinstance(screen, ContainersScreen) and screen.table.cell(CID, "oom").text == "2"
        await pilot.press("right_curly_bracket")
        await at_frame(pilot, RAISED)
        await until(pilot, lambda: any("cpu.max 0.2 -> 0.5" in n for n in notes(app)), "the quota said")
        await pilot.press("right_curly_bracket")
        await until(pilot, lambda: "no event recorded after this frame" in notes(app), "no more events")
        await pilot.press("left_curly_bracket")
        await at_frame(pilot, OOM)


async def test_t_goes_to_the_time_typed(recorded: tuple[Path, Path]) -> None:
    app = ReplayApp(replay_of(recorded), clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await drawn(pilot)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, GotoScreen), "the time prompt")
        app.screen.query_one(Input).value = "2025-12-01T00:00:31Z"  # nearest: frame 6, at 30 s
        await pilot.press("enter")
        await at_frame(pilot, 6)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, GotoScreen), "the time prompt")
        app.screen.query_one(Input).value = "someday"
        await pilot.press("enter")
        await until(pilot, lambda: any("'someday' is not a time" in n for n in notes(app)), "the refusal")
        assert app.replay.cursor == 6


def test_at_picks_the_nearest_frame(recorded: tuple[Path, Path]) -> None:
    replay = replay_of(recorded)
    replay.go(T0 + 13)
    assert replay.cursor == 3  # 15 s is nearer than 10 s
    replay.go(T0 - 3600)
    assert replay.cursor == 0
    replay.go(T0 + 3600)
    assert replay.cursor == FRAMES - 1


async def test_action_keys_are_refused(recorded: tuple[Path, Path]) -> None:
    app = ReplayApp(replay_of(recorded), clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await drawn(pilot)
        assert isinstance(screen, ContainersScreen)
        screen.table.move_cursor(row=screen.table.shown_keys.index(CID))
        refused = (("l", "limit"), ("f", "freeze"), ("k", "a signal"), ("e", "a shell inside"), ("u", "undo"))
        for key, what in refused:
            await pilot.press(key)
            said = f"read-only (replay: recorded data): {what} is off"
            await until(pilot, lambda said=said: said in notes(app), f"{what} refused")  # type: ignore[misc]


async def test_the_detail_draws_the_recorded_span(recorded: tuple[Path, Path]) -> None:
    replay = replay_of(recorded)
    replay.go(at(FRAMES - 1))
    app = ReplayApp(replay, clock=False)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await drawn(pilot)
        assert isinstance(screen, ContainersScreen)
        screen.table.move_cursor(row=screen.table.shown_keys.index(CID))
        await pilot.press("enter")
        detail = await drawn(pilot)
        assert isinstance(detail, ContainerDetailScreen)
        cpu = detail.query_one("#cpu-trend", Trend)
        assert len(cpu.values) == FRAMES - 1  # every frame with a rate, up to the cursor
        assert len(detail.query_one("#memory-trend", Trend).values) == FRAMES
        label = str(detail.query_one("#memory-label", Label).render())
        assert "last 0.8 min" in label  # 45 s recorded
        assert "not recorded" in str(detail.query_one("#inside-text").render())
        await pilot.press("left_square_bracket")
        await at_frame(pilot, FRAMES - 2)
        assert len(detail.query_one("#memory-trend", Trend).values) == FRAMES - 1


async def test_views_that_are_not_recorded_say_so(recorded: tuple[Path, Path]) -> None:
    app = ReplayApp(replay_of(recorded), clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await drawn(pilot)
        await pilot.press("4")
        await until(pilot, lambda: app.current_mode == "processes", "the processes view")
        notice = app.screen.query_one("#not-recorded", Label)
        await until(pilot, lambda: bool(notice.display), "the notice")
        assert "not recorded: this view needs every process" in str(notice.render())
        await pilot.press("1")
        await drawn(pilot)
        assert not app.screen.query_one("#not-recorded", Label).display


async def test_a_frame_that_cannot_be_read_is_said_in_one_line_when_shown(
    recorded: tuple[Path, Path], tmp_path: Path
) -> None:
    store, root = recorded
    shutil.copytree(store, tmp_path / "store")
    [path] = shards(tmp_path / "store")
    with path.open("ab") as f:  # whole, its CRC right, but no zstd frame: found only once decompressed
        f.write(shard.pack("frame", shard.DICT, at(FRAMES), b"not zstd"))
    replay = Replay(HostRoot.at(root), index(tmp_path / "store"))
    assert len(replay) == FRAMES + 1 and replay.warnings == []
    replay.go(at(FRAMES - 1))
    app = ReplayApp(replay, clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await drawn(pilot)
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: app.failure is not None, "the failure said")
        assert app.failure is not None and "cannot be decompressed" in app.failure and "\n" not in app.failure
        await pilot.press("left_square_bracket")
        await at_frame(pilot, FRAMES - 1)
        assert app.failure is None


def test_replay_needs_a_terminal(recorded: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    store, root = recorded
    assert main(["--root", str(root), "replay", "--dir", str(store)], out=io.StringIO()) == 1
    assert "stdout is not a terminal" in capsys.readouterr().err
