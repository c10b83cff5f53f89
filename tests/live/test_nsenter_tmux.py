"""The dashboard's `e` in a real terminal (tmux): a shell inside the selected container, and back.

Two ways people start it: from an interactive bash (job control: the shell hands the terminal to
cgscope's process group) and as the pane's first process (no job control at all). Either way, after `e`
and `exit` the dashboard must redraw and `q` exit 0.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from .containers import BareContainer, wait_until
from .tmux import Tmux, installed_cgscope


def start_from_bash(tmux: Tmux, cgscope: str, status: Path) -> None:
    tmux("new-session", "-d", "-s", "dash", "-x", "160", "-y", "40", "bash", "--norc", "--noprofile", "-i")
    wait_until(lambda: "$" in tmux.screen() or "#" in tmux.screen(), timeout=10, what="bash's prompt")
    tmux("send-keys", "-t", "dash", f"{cgscope} -d 1; echo $? > {status}", "Enter")


def start_as_first_process(tmux: Tmux, cgscope: str) -> int:
    """cgscope as the pane's process (several words: tmux executes them without a shell); its pid."""
    tmux("new-session", "-d", "-s", "dash", "-x", "160", "-y", "40", cgscope, "-d", "1")
    tmux("set-option", "-t", "dash", "remain-on-exit", "on")
    return int(tmux("display-message", "-p", "-t", "dash", "#{pane_pid}"))


def exit_status(tmux: Tmux, status: Path, pane: int | None) -> str | None:
    """cgscope's exit status: written by bash, or the pane's own. tmux can show a pane dead for seconds
    before it reaps the process; the zombie's /proc/PID/stat tells its status meanwhile (field 52)."""
    if pane is None:
        return status.read_text().strip() or None if status.exists() else None
    try:
        stat = Path(f"/proc/{pane}/stat").read_text()
    except FileNotFoundError:  # reaped: tmux has the status
        return tmux("display-message", "-p", "-t", "dash", "#{pane_dead_status}").strip() or None
    fields = stat[stat.rindex(")") + 2 :].split()
    return str(os.waitstatus_to_exitcode(int(fields[49]))) if fields[0] == "Z" else None


def screen_when(tmux: Tmux, probe: Callable[[str], bool], what: str, timeout: float = 10) -> None:
    """Wait until the screen satisfies `probe`; on a timeout, say what the screen showed."""
    try:
        wait_until(lambda: probe(tmux.screen()), timeout=timeout, what=what)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; the screen:\n{tmux.screen()}") from None


@pytest.mark.parametrize("from_bash", [True, False], ids=["from-bash", "first-process"])
def test_e_opens_a_shell_inside_and_exit_returns_to_the_dashboard(
    bare_container: BareContainer, tmux: Tmux, tmp_path: Path, from_bash: bool
) -> None:
    status = tmp_path / "status"
    pane = None
    if from_bash:
        start_from_bash(tmux, installed_cgscope(), status)
    else:
        pane = start_as_first_process(tmux, installed_cgscope())
    name = f"pid-{bare_container.namespaces['pid']}"  # its id, shown whole at any width
    screen_when(tmux, lambda s: name in s, f"{name} on the dashboard", timeout=30)
    tmux("send-keys", "-t", "dash", "/")  # narrow the table to the container's row
    screen_when(tmux, lambda s: "filter: type" in s, "the filter line")
    tmux("send-keys", "-t", "dash", "-l", name)
    tmux("send-keys", "-t", "dash", "Enter")
    screen_when(tmux, lambda s: "(host)" not in s and "Clear filter" not in s, "the table, filtered")

    tmux("send-keys", "-t", "dash", "e")
    screen_when(tmux, lambda s: "a shell in container" in s, "the shell inside")
    tmux("send-keys", "-t", "dash", "echo inside-$((6*7)) $(readlink /proc/self/ns/pid)", "Enter")
    inside = f"inside-42 pid:[{bare_container.namespaces['pid']}]"
    screen_when(tmux, lambda s: inside in s, "the shell's answer from inside")
    tmux("send-keys", "-t", "dash", "exit", "Enter")

    back = ("q Quit", name, "exited with", "status 0")  # the toast may wrap a long container name
    screen_when(tmux, lambda s: all(part in s for part in back), "the dashboard again", timeout=15)
    assert "Stopped" not in tmux.screen()
    tmux("send-keys", "-t", "dash", "q")
    code = wait_until(lambda: exit_status(tmux, status, pane), timeout=15, what="cgscope's exit")
    assert code == "0", (code, tmux.screen())
    assert "Traceback" not in tmux.screen()
