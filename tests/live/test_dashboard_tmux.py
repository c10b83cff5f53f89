"""The installed `cgscope` in a real terminal (tmux): it draws, lists a live bare container, `q` exits 0."""

from __future__ import annotations

from pathlib import Path

from .containers import BareContainer, wait_until
from .tmux import Tmux, installed_cgscope


def test_installed_dashboard_shows_a_bare_container_and_q_exits_0(
    bare_container: BareContainer, tmux: Tmux, tmp_path: Path
) -> None:
    status = tmp_path / "status"
    command = f"{installed_cgscope()} -d 1; echo $? > {status}; sleep 60"  # the pane outlives cgscope
    tmux("new-session", "-d", "-s", "dash", "-x", "200", "-y", "40", command)
    container_id = f"pid-{bare_container.namespaces['pid']}"

    def row() -> str | None:
        return next((line for line in tmux.screen().splitlines() if container_id in line), None)

    line = wait_until(row, timeout=30, what=f"{container_id} on the dashboard")
    assert bare_container.cgroup_path in line, tmux.screen()  # its cgroup, in the same row
    assert line.split()[0] == bare_container.name  # named after its own cgroup
    drawn = ("cgscope", "cgroup ", "every 1 s", "1 Containers", "(host)", "q Quit")
    wait_until(lambda: all(part in tmux.screen() for part in drawn), what="the header, tabs and footer")
    assert "READ-ONLY" not in tmux.screen()  # root on the live host may act
    tmux("send-keys", "-t", "dash", "q")
    code = wait_until(lambda: status.read_text().strip() or None if status.exists() else None, 15, "the exit")
    assert code == "0"
    assert "Traceback" not in tmux.screen()


def test_at_80x24_the_containers_view_keeps_its_figures_whole_and_says_what_gave_way(
    bare_container: BareContainer, tmux: Tmux
) -> None:
    tmux("new-session", "-d", "-s", "dash", "-x", "80", "-y", "24", f"{installed_cgscope()} -d 1; sleep 60")

    def header() -> str | None:
        return next((line for line in tmux.screen().splitlines() if line.lstrip().startswith("NAME")), None)

    heading = wait_until(header, timeout=30, what="the containers table")
    assert heading.split()[:6] == ["NAME▲", "STATE", "CPU%", "%CPU", "LIM", "MEM/LIMIT"], heading
    assert heading.rstrip().endswith("›")  # the rest gave way, and the header says so

    def row() -> list[str] | None:
        rows = [line.split() for line in tmux.screen().splitlines() if bare_container.name in line]
        return rows[0] if rows else None

    fields = wait_until(row, timeout=30, what=f"{bare_container.name}, whole, on an 80-column row")
    assert fields[:2] == [bare_container.name, "running"]
    screen = tmux.screen()
    assert all(len(line) <= 80 for line in screen.splitlines())
    assert "q Quit" in screen and "Traceback" not in screen
    tmux("send-keys", "-t", "dash", "q")
