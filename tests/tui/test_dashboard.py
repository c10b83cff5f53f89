"""The dashboard driven by keys and clicks (Textual's Pilot) on a fixed fake host, at 80x24."""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
import time

import pytest
from fakehost import HOST_NS, FakeHost
from hosts.dashboard import DOCKER_CG, DOCKER_ID, DOCKER_NS, MARKUP_COMMAND, PODMAN_ID, UNSHARE_PID
from textual import events
from textual.widgets import Button, Label, OptionList, TabbedContent

from cgscope.cli import main
from cgscope.render.columns.containers import HOST as HOST_KEY
from cgscope.sampling import Frame, Need, Sampler
from cgscope.tui.app import CgscopeApp
from cgscope.tui.screens.container_detail import ContainerDetailScreen
from cgscope.tui.screens.containers import ContainersScreen
from cgscope.tui.screens.help import HelpScreen
from cgscope.tui.screens.namespaces import NamespacesScreen
from cgscope.tui.screens.processes import ProcessesScreen
from cgscope.tui.screens.tree import TreeScreen
from cgscope.tui.widgets.cgroup_tree import CgroupTree
from cgscope.tui.widgets.filter import FilterBar
from cgscope.tui.widgets.header import HostHeader
from cgscope.tui.widgets.table import SortableTable

from .conftest import AppFactory, drawn, header_text, refreshed

BARE_ID = f"pid-{UNSHARE_PID}"
ALL_ROWS = {DOCKER_ID, PODMAN_ID, BARE_ID, HOST_KEY}


def table_of(app: CgscopeApp, selector: str = "SortableTable") -> SortableTable[object]:
    return app.screen.query_one(selector, SortableTable)


def column(table: SortableTable[object], key: str) -> list[str]:
    return [table.cell(row, key).text for row in table.shown_keys]


def focused(app: CgscopeApp) -> object:
    return app.focused


async def test_opens_on_the_containers_with_the_host_as_a_row(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await drawn(pilot)
        assert isinstance(screen, ContainersScreen)
        table = table_of(app)
        assert set(table.shown_keys) == ALL_ROWS
        assert table.cell(DOCKER_ID, "name").text == "web"
        assert table.cell(DOCKER_ID, "runtime").text == "docker"
        assert table.cell(DOCKER_ID, "id").text == DOCKER_ID[:12]
        assert table.cell(DOCKER_ID, "pids").text == "2"
        assert table.cell(DOCKER_ID, "namespaces").text == "cgroup,ipc,mnt,net,pid,uts"
        assert table.cell(DOCKER_ID, "cgroup").text == DOCKER_CG
        assert table.cell(BARE_ID, "pids").text == "4"  # unshare, sh and two sleeps
        assert table.cell(HOST_KEY, "name").text == "(host)"
        assert table.cell(HOST_KEY, "pids").text == "10"
        text = header_text(app)
        for part in ("node1", "6.1.0-13-amd64", "cgroup v2", "4 CPUs", "load 0.52 0.38 0.30"):
            assert part in text
        assert "mem (wset) 5.8G/7.8G" in text  # the host row's working set: (8131400 - 2011620) KiB
        assert "up 3d 4h" in text  # 273845 s
        assert "every 30 s" in text
        assert "READ-ONLY" in text
        assert app.focused is table


async def test_read_write_session_has_no_read_only_mark(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host, read_only=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        assert "READ-ONLY" not in header_text(app)
        assert not app.screen.query_one(HostHeader).has_class("-read-only")


async def test_sort_by_any_column_from_the_keyboard(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host)
    async with app.run_test(size=(200, 30)) as pilot:  # wide enough for every column
        await drawn(pilot)
        table = table_of(app)
        assert column(table, "name") == ["(host)", "db", "sh*", "web"]  # *: its cgroup is shared
        await pilot.press("greater_than_sign")  # next column: STATE
        assert table.sort_column == "state"
        await pilot.press(*["greater_than_sign"] * 4)  # CPU%, %CPU LIM, MEM/LIMIT, RUNTIME
        assert table.sort_column == "runtime"
        assert column(table, "runtime") == ["-", "bare", "docker", "podman"]
        await pilot.press("greater_than_sign")  # PIDS, sorted as numbers
        assert table.sort_column == "pids"
        assert column(table, "pids") == ["1", "2", "4", "10"]
        await pilot.press("i")
        assert column(table, "pids") == ["10", "4", "2", "1"]
        assert "PIDS▼" in table.header_line()
        await pilot.press(*["less_than_sign"] * 2)  # MEM/LIMIT: by the working set
        assert table.sort_column == "memory"
        assert [table.cell(k, "name").text for k in table.shown_keys] == ["(host)", "db", "web", "sh*"]
        await pilot.press("less_than_sign", "less_than_sign")
        assert table.sort_column == "cpu"


async def test_click_on_a_header_sorts_and_a_second_click_inverts(
    host: FakeHost, make_app: AppFactory
) -> None:
    app = make_app(host)
    async with app.run_test(size=(200, 30)) as pilot:
        await drawn(pilot)
        table = table_of(app)
        offset = table.header_line().index("PIDS") + 1
        await pilot.click(SortableTable, offset=(offset, 0))
        assert column(table, "pids") == ["1", "2", "4", "10"]
        await pilot.click(SortableTable, offset=(offset, 0))
        assert column(table, "pids") == ["10", "4", "2", "1"]


async def test_filter_narrows_rows_and_escape_clears(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        table = table_of(app)
        await pilot.press("slash")
        bar = app.screen.query_one(FilterBar)
        assert bar.display
        assert app.focused is bar
        await pilot.press("d", "o", "c")
        assert table.shown_keys == [DOCKER_ID]
        await pilot.press("enter")  # keeps the filter, back in the table
        assert bar.display
        assert focused(app) is table
        assert table.shown_keys == [DOCKER_ID]
        await refreshed(pilot)  # a refresh keeps the filter
        assert table.shown_keys == [DOCKER_ID]
        await pilot.press("slash", "escape")
        assert not bar.display
        assert focused(app) is table
        assert set(table.shown_keys) == ALL_ROWS


async def test_enter_opens_the_detail_and_escape_goes_back(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        table = table_of(app)
        table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
        await pilot.press("enter")
        detail = await drawn(pilot)
        assert isinstance(detail, ContainerDetailScreen) and detail.key == DOCKER_ID
        summary = str(detail.query_one("#summary", Label).render())
        assert summary == f"web · docker · running · {DOCKER_ID[:12]} · init 530 · 2 processes"
        members = table_of(app, "#members")
        # As the container numbers them (pid 1 is nginx's master), beside the host's pids.
        assert column(members, "nspid") == ["1", "29"]
        assert column(members, "pid") == ["530", "531"]
        assert column(members, "user") == ["root", "101"]
        await pilot.press("n")
        assert detail.query_one(TabbedContent).active == "namespaces"
        namespaces = table_of(app, "#namespaces-table")
        assert column(namespaces, "type") == list(HOST_NS)
        sharing = dict(zip(column(namespaces, "type"), column(namespaces, "sharing"), strict=True))
        assert {t for t, s in sharing.items() if s == "own"} == set(DOCKER_NS)
        assert {t for t, s in sharing.items() if s == "shared with host"} == {"time", "user"}
        assert namespaces.cell("net", "inode").text == str(DOCKER_NS["net"])
        assert namespaces.cell("net", "host").text == str(HOST_NS["net"])
        await pilot.press("g")
        cgroups = table_of(app, "#cgroups-table")
        assert column(cgroups, "path") == [DOCKER_CG]
        await pilot.press("escape")
        assert isinstance(app.screen, ContainersScreen)
        assert table_of(app).selected_key == DOCKER_ID  # the cursor stayed on the row


async def test_host_detail_lists_the_processes_outside_containers(
    host: FakeHost, make_app: AppFactory
) -> None:
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        table = table_of(app)
        table.move_cursor(row=table.shown_keys.index(HOST_KEY))
        await pilot.press("enter")
        detail = await drawn(pilot)
        assert Need.PROCESSES in detail.needs()  # the host's processes are read in full only here
        members = table_of(app, "#members")
        assert column(members, "pid") == ["1", "2", "3", "410", "500", "520", "700", "1000", "1010", "1020"]
        shown = MARKUP_COMMAND.replace("\n", "\\n")  # the newline made visible
        assert members.cell("1020", "command").text == shown
        await pilot.press("p")
        await pilot.pause()
        assert members.row_line("1020").rstrip().endswith(shown)  # drawn as it is: never read as markup


async def test_help_shows_every_key_of_the_view(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        containers = app.screen
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#keys").render())
        for binding in containers.active_bindings.values():
            if not binding.binding.system:
                assert (binding.binding.tooltip or binding.binding.description) in text, binding.binding
        for key in ("q", "?", "/", "<", ">", "i", "+", "-", "1", "4", "esc"):
            assert any(line.split()[:1] == [key] for line in text.splitlines()), key
        await pilot.press("escape")
        assert app.screen is containers


async def test_views_switch_with_keys_and_clicks(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        await pilot.press("2")
        tree = await drawn(pilot)
        assert isinstance(tree, TreeScreen)
        shown = tree.query_one(CgroupTree)
        top = {str(n.label).split("  ")[0]: n for n in shown.root.children}
        assert list(top) == ["init.scope", "machine.slice", "system.slice", "user.slice"]
        assert str(shown.root.label) == "/  2/17"  # pids 2 and 3 in the root cgroup; 17 in all
        top["system.slice"].expand()
        await refreshed(pilot)
        system = next(n for n in shown.root.children if str(n.label).startswith("system.slice"))
        assert system.is_expanded  # kept open across a refresh
        docker = next(n for n in system.children if n.data == DOCKER_CG)
        assert str(docker.label) == f"docker-{DOCKER_ID}.scope  2  web"

        await pilot.press("3")
        namespaces = await drawn(pilot)
        assert isinstance(namespaces, NamespacesScreen)
        table = table_of(app)
        net = table.cell(f"net:{DOCKER_NS['net']}", "container").text
        assert net == "web"
        assert table.cell(f"pid:{UNSHARE_PID}", "nprocs").text == "3"

        await pilot.press("4")
        processes = await drawn(pilot)
        assert isinstance(processes, ProcessesScreen)
        table = table_of(app)
        assert len(table.shown_keys) == 15  # kernel threads hidden
        await pilot.press("K")
        assert len(table.shown_keys) == 17
        assert table.cell("531", "nspid").text == "29"
        assert table.cell("531", "container").text == "web"
        table.move_cursor(row=table.shown_keys.index("531"))
        await pilot.press("enter")
        detail = await drawn(pilot)
        assert isinstance(detail, ContainerDetailScreen) and detail.key == DOCKER_ID
        await pilot.press("escape")

        await pilot.click("#containers")  # the view's name in the tabs
        await pilot.pause()
        assert isinstance(app.screen, ContainersScreen)
        await pilot.click("#tree")
        await pilot.pause()
        assert isinstance(app.screen, TreeScreen)


async def test_tree_of_each_hierarchy_on_a_hybrid_host(tmp_path: object, make_app: AppFactory) -> None:
    from pathlib import Path

    from hosts.dashboard import dashboard_host

    assert isinstance(tmp_path, Path)
    app = make_app(dashboard_host(tmp_path, "hybrid"))
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        await pilot.press("2")
        tree = await drawn(pilot)
        options = tree.query_one("#hierarchies", OptionList)
        assert options.option_count == 10  # nine v1 hierarchies and the unified one
        # Where CPU is limited: this hybrid host's cgroup2 holds no controller.
        assert isinstance(tree, TreeScreen) and tree.hierarchy == "cpu"
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert tree.hierarchy != "cpu"
        memory = [i for i in range(options.option_count) if options.get_option_at_index(i).id == "memory"]
        options.highlighted = memory[0]
        await pilot.pause()
        shown = tree.query_one(CgroupTree)
        assert shown.hierarchy == "memory"
        assert "/sys/fs/cgroup/memory" in str(tree.query_one("#caption", Label).render())


async def test_refresh_interval_keys(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host, interval=2.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        await pilot.press("plus")
        assert app.interval == 3.0
        assert "every 3 s" in header_text(app)
        await pilot.press("minus", "minus", "minus")
        assert app.interval == 0.5
        await pilot.press("minus")  # the fastest step stays
        assert app.interval == 0.5
        assert "every 0.5 s" in header_text(app)


async def test_refreshes_show_new_containers_and_read_off_the_ui_thread(
    host: FakeHost, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    real = Sampler.sample

    def sample(self: Sampler, needs: frozenset[Need], focus: str | None = None) -> Frame:
        threads.append(threading.current_thread())
        return real(self, needs, focus)

    monkeypatch.setattr(Sampler, "sample", sample)
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        inside = {"mnt": 4026532410, "pid": 4026532411}
        host.add_process(1400, "sleep", ["sleep", "9"], ppid=1010, nspid=(1400, 1), ns=inside)
        await refreshed(pilot)
        assert "pid-4026532411" in table_of(app).shown_keys
        assert threads and all(t is not threading.main_thread() for t in threads)


async def test_unreadable_values_are_shown_as_unknown(
    host: FakeHost, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for a user who may not read /proc/PID/ns of others: "?" and "unknown", never an error."""
    host.deny_ns(530, monkeypatch)
    host.deny_ns(410, monkeypatch)
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await drawn(pilot)
        table = table_of(app)
        assert table.cell(DOCKER_ID, "namespaces").text == "cgroup?,ipc?,mnt?,net?,pid?,time?,user?,uts?"
        caption = str(screen.query_one("#caption", Label).render())
        assert "1 not inspected (permission denied)" in caption
        table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
        await pilot.press("enter", "n")
        await drawn(pilot)
        namespaces = table_of(app, "#namespaces-table")
        assert set(column(namespaces, "sharing")) == {"unknown"}
        assert set(column(namespaces, "inode")) == {"?"}


async def test_a_container_that_exits_is_marked_gone(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        table = table_of(app)
        table.move_cursor(row=table.shown_keys.index(PODMAN_ID))
        await pilot.press("enter")
        detail = await drawn(pilot)
        (host.proc / "710").rename(host.root / "gone-710")  # the process exits
        await refreshed(pilot)
        assert detail.has_class("-gone")
        summary = str(detail.query_one("#summary", Label).render())
        assert summary.startswith(f"db (podman {PODMAN_ID[:12]}, init pid 710) exited")  # not its full id
        assert table_of(app, "#members").shown_keys == ["710"]  # its last figures, kept (greyed)
        back = detail.query_one("#back", Button)
        assert back.display
        await pilot.click("#back")  # the way back it offers
        await pilot.pause()
        assert isinstance(app.screen, ContainersScreen)


@pytest.mark.parametrize("theme", ["textual-light", "nord", "gruvbox"])
async def test_works_with_textual_themes(host: FakeHost, make_app: AppFactory, theme: str) -> None:
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        app.theme = theme
        await pilot.pause()
        assert app.theme == theme
        assert set(table_of(app).shown_keys) == ALL_ROWS


async def test_q_quits_with_status_zero(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        await pilot.press("q")
    assert app.return_code == 0


async def test_refreshes_by_itself_every_interval(host: FakeHost, make_app: AppFactory) -> None:
    app = make_app(host, interval=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        assert app.frame is not None
        first = app.frame.number
        await pilot.pause(2.0)
        assert app.frame.number >= first + 2  # the next refresh comes 0.5 s after one ends
        assert app.frame.number <= first + 5


async def test_detail_shows_usage_against_limits_and_what_top_inside_would_show(
    host: FakeHost, make_app: AppFactory
) -> None:
    app = make_app(host)
    async with app.run_test(size=(100, 40)) as pilot:
        await drawn(pilot)
        table = table_of(app)
        table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
        await pilot.press("enter")
        detail = await drawn(pilot)
        assert detail.query_one(TabbedContent).active == "usage"
        usage = str(detail.query_one("#usage-text").render())
        inside = str(detail.query_one("#inside-text").render())
        members = table_of(app, "#members")
        # cpu.max 50000 100000, memory.max 256M, memory.current 200M (tests/hosts/dashboard.py)
        assert "allowance 0.5 CPUs" in usage
        assert "memory  200M of 256M (78.1 %) · working set 150M · OOM kills 0" in usage
        assert "PSI     cpu 12.5 %" in usage
        # Under LXCFS half a CPU shows as one CPU, and free shows the limit as the total.
        assert inside.splitlines()[:2] == [
            "nproc   1",
            "free    total 256M · used 150M · free 56.0M · available 106M",
        ]
        # Top inside: a rate needs a second refresh; memory is RSS of the limit.
        assert column(members, "cpu") == ["…", "…"]
        assert column(members, "rss") == ["1.6M", "1.6M"]
        assert column(members, "mem") == ["0.6", "0.6"]
        detail = await refreshed(pilot)
        members = table_of(app, "#members")
        assert column(members, "cpu") == ["0.0", "0.0"]  # the fixture's counters stand still
        assert (  # on a fixed scale: its quota of half a CPU
            str(detail.query_one("#cpu-label").render())
            == "CPU % of one CPU: 0.0 %, last 1.5 min, on a scale of 0 to 50 %"
        )


async def test_detail_isolation_pane_says_what_inspect_says(host: FakeHost, make_app: AppFactory) -> None:
    """The fixture host lacks the container's mountinfo: the pane holds the CLI's one-line message."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["--root", str(host.root), "inspect", "--no-sizes", "web"]) == 1
    app = make_app(host)
    async with app.run_test(size=(100, 40)) as pilot:
        await drawn(pilot)
        table = table_of(app)
        table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
        await pilot.press("enter")
        detail = await drawn(pilot)
        pane = detail.query_one("#isolation-text")
        assert str(pane.render()) == "read when this pane opens"
        await pilot.press("o")
        deadline = time.monotonic() + 10
        while str(pane.render()) == "reading…":
            assert time.monotonic() < deadline
            await pilot.pause()
            await asyncio.sleep(0.01)
        assert "cgscope: " + str(pane.render()) == err.getvalue().strip()


async def test_keys_typed_right_behind_enter_go_to_the_table(host: FakeHost, make_app: AppFactory) -> None:
    """A quick `Enter ?` (or a paste): both keys reach the filter line before the focus has moved."""
    app = make_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        await drawn(pilot)
        await pilot.press("slash", "d", "o", "c")
        bar = app.screen.query_one(FilterBar)
        app.post_message(events.Key("enter", None))
        app.post_message(events.Key("question_mark", "?"))
        await pilot.pause()
        await pilot.pause()
        assert bar.value == "doc"
        assert isinstance(app.screen, HelpScreen)
