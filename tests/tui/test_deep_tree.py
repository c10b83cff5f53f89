"""The dashboard's cgroup tree on a host where a user made a cgroup 1,100 levels deep: it draws, as deep
as cgscope walks, and says where it stopped."""

from __future__ import annotations

from pathlib import Path

from fakehost import FakeHost
from helpers import deep_chain
from hosts.dashboard import dashboard_host
from hosts.systemd import SESSION

from cgscope.fs.cgroupfs import MAX_DEPTH
from cgscope.tui.screens.tree import TreeScreen
from cgscope.tui.widgets.cgroup_tree import CgroupTree

from .conftest import AppFactory, drawn


def on_the_way(path: str | None) -> bool:
    """Whether a node of the tree is the session's cgroup, one above it, or one of the chain below."""
    return path is not None and (SESSION.startswith(path) or path.startswith(SESSION))


async def test_a_deep_cgroup_tree_draws_to_its_bound(tmp_path: Path, make_app: AppFactory) -> None:
    h = dashboard_host(tmp_path)
    directory = h.cgroup_dir("unified", SESSION)
    assert directory is not None
    with deep_chain(directory):
        await check_tree(h, make_app)


async def check_tree(h: FakeHost, make_app: AppFactory) -> None:
    app = make_app(h)
    async with app.run_test(size=(100, 30)) as pilot:
        await drawn(pilot)
        await pilot.press("2")
        screen = await drawn(pilot)
        assert isinstance(screen, TreeScreen)
        node, depth = screen.query_one(CgroupTree).root, 0
        while node.children:
            node = next(c for c in node.children if on_the_way(c.data))
            depth += 1
        assert str(node.label).endswith("deeper cgroups not shown")
        assert depth <= MAX_DEPTH + SESSION.count("/")
