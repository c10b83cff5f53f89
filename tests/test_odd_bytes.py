"""Bytes users choose, in the kernel files cgscope reads: a mount point, a process name, a command line and
a cgroup name that are not UTF-8 and hold control characters. Every command reads them; tables show the
bytes escaped ("\\xff", "\\x1b"), and JSON keeps them exact (U+DCxx, Python's surrogateescape)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helpers
import pytest
from fakehost import FakeHost

from cgscope.fs.files import decode

ODD = b"\xff\xfe\x1b[2J"  # not UTF-8, and an escape sequence that would clear the terminal


def cli(host: FakeHost, *args: str) -> str:
    text = helpers.cli(host, *args)
    text.encode()  # printable on a UTF-8 terminal: no lone surrogate left unescaped
    return text


@pytest.fixture
def odd_host(tmp_path: Path) -> FakeHost:
    h = FakeHost(tmp_path, "v2")
    h.add_process(1, "init", ["/sbin/init"], ppid=0)
    h.add_process(2, "kthreadd", ppid=0, kernel_thread=True)
    h.add_process(300, "sh", ["sh"], cgroup="/user.slice/box")
    with h.path("/proc/self/mountinfo").open("ab") as f:  # a user's FUSE mount
        f.write(b"90 22 0:90 / /media/usb-" + ODD + b"\\040label rw - fuse.sshfs me@" + ODD + b" rw\n")
    stat = h.path("/proc/300/stat")
    stat.write_bytes(stat.read_bytes().replace(b"(sh)", b"(sh" + ODD + b")"))
    h.path("/proc/300/cmdline").write_bytes(b"/tmp/" + ODD + b"\0-c\0")
    odd_cgroup = "/user.slice/box" + decode(ODD)
    h.path("/proc/300/cgroup").write_bytes(b"0::/user.slice/box" + ODD + b"\n")
    h.path("/sys/fs/cgroup" + odd_cgroup).mkdir()
    h.path("/sys/fs/cgroup" + odd_cgroup + "/cgroup.procs").write_text("300\n")
    h.path("/sys/fs/cgroup/user.slice/box/cgroup.procs").write_text("")
    return h


def test_json_keeps_the_bytes(odd_host: FakeHost) -> None:
    data: Any = json.loads(cli(odd_host, "ps", "--json"))
    [p] = [p for p in data["processes"] if p["pid"] == 300]
    assert p["command"] == "/tmp/" + decode(ODD) + " -c"
    assert p["cgroups"]["unified"] == "/user.slice/box" + decode(ODD)
    tree = json.loads(cli(odd_host, "tree", "--json"))["hierarchies"][0]["tree"]
    box = next(c for c in tree["children"] if c["path"] == "/user.slice")["children"]
    assert {c["path"]: c["procs"] for c in box} == {"/user.slice/box": 0, "/user.slice/box" + decode(ODD): 1}


@pytest.mark.parametrize("command", ["ps", "tree", "containers", "ns"])
def test_tables_show_the_bytes_escaped(odd_host: FakeHost, command: str) -> None:
    text = cli(odd_host, command)
    assert "\x1b" not in text
    if command in ("ps", "tree"):
        assert "\\xff\\xfe\\x1b[2J" in text
