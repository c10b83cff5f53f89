"""Strings other users choose (a process's name and command line, a container's name, cgroup names, a mount's
source, the hostname, an LSM label, file names in a container layer, paths in error messages) hold terminal
escapes, a newline and a C1 control: no output path prints them raw (render/table.visible shows them as
escapes), and JSON keeps them exact. The dashboard's paths are in tests/tui/test_escapes_dashboard.py."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from controlfake import control_host
from fakehost import FakeHost
from helpers import CGROUP, COMM, EVIL, RAW, SHOWN, octal
from hosts.docker_detail import CACHE, DID, O2

from cgscope.cli import main
from cgscope.render.table import visible


def test_the_escaping_function() -> None:
    assert visible(EVIL) == SHOWN
    assert visible("plain ascii, é, 日本") == "plain ascii, é, 日本"  # printable text is left as it is
    assert visible("\t\r\x7f\x85\u2028\u202e\u200b") == "\\t\\x0d\\x7f\\x85\\u2028\\u202e\\u200b"
    assert visible("a\udcff\udc80b") == "a\\xff\\x80b"  # bytes that were not UTF-8 (surrogateescape)
    assert visible(visible(EVIL)) == SHOWN  # what it gives is printable: shown once, never twice


def cli(root: Path, *argv: str, status: int = 0) -> tuple[str, str]:
    """(stdout, stderr) of `cgscope --root ROOT ARGV`, which must exit with `status`."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stderr", err)
        assert main(["--root", str(root), *argv], out=out) == status, (argv, err.getvalue())
    return out.getvalue(), err.getvalue()


def shown_not_raw(*texts: str) -> None:
    for text in texts:
        assert not any(c in text for c in RAW), text


def strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from strings(item)


def exact_in_json(root: Path, *argv: str) -> list[str]:
    """The strings of a command's JSON holding the fixture's escapes: exact, and nothing in the text of
    the JSON itself is raw."""
    out, _ = cli(root, *argv, "--json")
    shown_not_raw(out)
    return [s for s in strings(json.loads(out)) if "\x1b]0;pwned" in s]


@pytest.fixture
def evil(docker_host: FakeHost) -> FakeHost:
    """The Docker fixture host with the escapes in every string a user controls."""
    h = docker_host
    h.write("/proc/sys/kernel/hostname", EVIL + "\n")
    h.docker_container(DID, EVIL, 4242)
    h.write("/proc/4242/cmdline", EVIL + "\0-g\0")
    h.write("/proc/4242/attr/apparmor/current", EVIL + " (enforce)\n")
    mountinfo = h.path("/proc/4242/mountinfo").read_text()
    h.write("/proc/4242/mountinfo", mountinfo.replace(" - overlay overlay ", f" - overlay {octal(EVIL)} ", 1))
    h.write(f"{O2}/{CACHE}/diff/{EVIL}", "a file named so")
    h.add_process(6000, EVIL, [EVIL, "--flag"], ppid=1, cgroup=f"/{CGROUP}")
    h.add_cgroup(f"/{EVIL}")
    return h


def test_tables_and_the_tree_show_the_escapes_and_json_keeps_them(evil: FakeHost) -> None:
    for argv in (["containers"], ["ps"], ["ns"], ["tree"]):
        out, err = cli(evil.root, *argv)
        shown_not_raw(out, err)
        assert SHOWN in out or visible(COMM) in out, argv
    assert EVIL in exact_in_json(evil.root, "containers")  # the container's name
    assert {EVIL, f"/{CGROUP}", f"{EVIL} --flag"} <= set(exact_in_json(evil.root, "ps"))
    assert {f"/{EVIL}", f"/{CGROUP}"} <= set(exact_in_json(evil.root, "tree"))
    assert f"{EVIL} --flag" in exact_in_json(evil.root, "ps", "6000")


def test_inspect_shows_the_escapes_in_its_heading_titles_and_tables(evil: FakeHost) -> None:
    out, err = cli(evil.root, "inspect", "4242")
    shown_not_raw(out, err)
    heading = out.splitlines()[0]
    assert heading.startswith(f"{SHOWN} (docker container {DID[:12]}), its init is host pid 4242: {SHOWN} -g")
    assert f"Rootfs /proc/4242/root: overlay ({SHOWN})" in out  # a section's title: the mount's source
    assert f"apparmor: {SHOWN} (enforce)" in out  # the LSM label, in a table
    found = exact_in_json(evil.root, "inspect", "4242")
    assert {EVIL, f"{EVIL} -g", EVIL + " (enforce)"} <= set(found)


def test_diff_lines_show_the_escapes(evil: FakeHost) -> None:
    out, err = cli(evil.root, "diff", "4242")
    shown_not_raw(out, err)
    assert f"A /{SHOWN}" in out.splitlines()
    assert f"/{EVIL}" in exact_in_json(evil.root, "diff", "4242")


def test_an_error_message_shows_the_escapes(evil: FakeHost) -> None:
    evil.add_process(5000, "sleep", ("sleep", "1000"), ppid=900, nspid=(5000, 1), ns={"mnt": 4026532401})
    options = f"lowerdir=/nowhere/lower,upperdir=/nowhere/{octal(EVIL)},workdir=/nowhere/work"
    evil.write("/proc/5000/mountinfo", f"700 600 0:99 / / rw,relatime - overlay overlay rw,{options}\n")
    out, err = cli(evil.root, "diff", "5000", status=1)
    shown_not_raw(out, err)
    assert err == f"cgscope: /nowhere/{SHOWN}: no such directory\n"


def test_plans_history_and_undo_show_the_escapes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    host = control_host(tmp_path, "v2")
    host.add_process(500, EVIL, [EVIL], cgroup=f"/{CGROUP}")
    host.write(f"/sys/fs/cgroup/{CGROUP}/pids.max", "max\n")
    for argv in (["--dry-run"], []):
        out, err = cli(host.root, "limit", "500", "--pids", "10", *argv)
        shown_not_raw(out, err)
        assert f"/sys/fs/cgroup/{visible(CGROUP)}/pids.max = 10" in out and f"    500  {SHOWN}" in out, out
    out, err = cli(host.root, "history")
    shown_not_raw(out, err)
    assert f"unified:/{visible(CGROUP)}/pids.max=10" in out
    found = exact_in_json(host.root, "history")
    assert f"process 500 ({COMM})" in found and any(f"/{CGROUP}/" in s for s in found)
    out, err = cli(host.root, "undo")
    shown_not_raw(out, err)
    assert out == f"undid change 1: limit process 500 ({visible(COMM)})\n"
