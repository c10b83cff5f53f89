"""A cgroup subtree deeper than cgscope walks (cgroup.max.depth is "max" by default: a user given a
delegated subtree can make one thousands of levels deep, past PATH_MAX) neither stops `tree` nor the
dashboard's tree, and a change that would reach it is refused, since what its deepest cgroups hold cannot
be told."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from controlfake import add_interface_files, control_host, snapshot
from fakehost import FakeHost
from helpers import cli, cli_json, deep_chain, private, tree_node

from cgscope.cli import main
from cgscope.fs.cgroupfs import MAX_DEPTH


@pytest.fixture
def host(tmp_path: Path) -> Iterator[FakeHost]:
    h = FakeHost(tmp_path, "v2")
    h.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup="/init.scope")
    h.add_process(500, "sleep", ["sleep", "1d"], cgroup="/user.slice/deep")
    directory = h.cgroup_dir("unified", "/user.slice/deep")
    assert directory is not None
    with deep_chain(directory):
        yield h


@pytest.mark.parametrize("name", ["d", "d" * 200])  # a thousand levels; past PATH_MAX within 20
def test_tree_shows_what_it_walks_and_says_the_rest_is_not_shown(host: FakeHost, name: str) -> None:
    directory = host.cgroup_dir("unified", "/user.slice")
    assert directory is not None
    with deep_chain(directory, 40, name) if name != "d" else contextlib.nullcontext():
        check_tree(host, 1 if name == "d" else 2)


def check_tree(host: FakeHost, cut: int) -> None:
    tree = cli_json(host, "tree")["hierarchies"][0]["tree"]
    deep = tree_node(tree, "/user.slice/deep")
    assert (deep["procs"], deep["total_procs"], deep["truncated"]) == (1, 1, False)
    node, depth = tree, 0
    while node["children"]:
        node = next(c for c in node["children"] if c["path"].startswith("/user.slice"))
        depth += 1
    assert node["truncated"] and not tree["truncated"]
    assert depth <= MAX_DEPTH
    text = cli(host, "tree")
    assert text.count("deeper cgroups not shown") == cut


def test_a_change_that_would_reach_the_deep_subtree_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    h = control_host(tmp_path / "host", "v2")
    h.add_process(600, "sleep", ["sleep", "1d"], cgroup="/bare", nspid=(600, 1), ns=private(4))
    add_interface_files(h)
    with contextlib.ExitStack() as stack:
        for cgroup in ("/box/inner", "/bare"):
            directory = h.cgroup_dir("unified", cgroup)
            assert directory is not None
            stack.enter_context(deep_chain(directory, MAX_DEPTH + 5))
        check_refused(h, tmp_path, monkeypatch, capsys)


def check_refused(
    h: FakeHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    before = snapshot(h.root)
    for argv, cgroup in (
        (["limit", "400", "--pids", "50", "--yes"], "/box/inner"),
        (["freeze", "600", "--yes"], "/bare"),
    ):
        assert main(["--root", str(h.root), *argv], out=io.StringIO()) == 1, argv
        [line] = capsys.readouterr().err.splitlines()
        assert line.startswith(f"cgscope: /sys/fs/cgroup{cgroup} has cgroups more than 64 levels below it"), (
            line
        )
        assert line.endswith("nothing changed")
    assert snapshot(h.root) == before
    assert not (tmp_path / "state" / "journal.jsonl").exists()
