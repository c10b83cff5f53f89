"""The cgroup tree of one hierarchy at a time (the list on the left picks it), with process counts."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Label, OptionList, Tree
from textual.widgets.option_list import Option

from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount
from cgscope.model.tree import CgroupNode
from cgscope.render.table import visible
from cgscope.sampling import Frame, Need
from cgscope.tui.screens.base import DataScreen
from cgscope.tui.widgets.cgroup_tree import CgroupTree
from cgscope.tui.widgets.steady import put


def opening(host: HostRoot) -> CgroupMount | None:
    """The hierarchy the view opens on: where CPU and memory are limited, the primary (systemd's) when
    it holds either controller, else the v1 hierarchy of cpu (or memory) — on a hybrid host cgroup2 often
    holds no controller at all."""
    primary = host.primary
    if primary is not None and {"cpu", "memory"} & set(primary.controllers):
        return primary
    return host.mount_for("cpu") or host.mount_for("memory") or primary


def _size(node: CgroupNode) -> int:
    return 1 + sum(_size(c) for c in node.children)


class TreeScreen(DataScreen):
    VIEW = "tree"
    NEEDS = frozenset({Need.TREES})
    AUTO_FOCUS = "CgroupTree"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left_square_bracket", "hierarchy(-1)", "Hierarchy ←", key_display="["),
        Binding("right_square_bracket", "hierarchy(1)", "Hierarchy →", key_display="]"),
    ]

    def compose_body(self) -> ComposeResult:
        yield Label("reading…", id="caption", markup=False)
        with Horizontal(id="tree-body"):
            yield OptionList(id="hierarchies")
            yield CgroupTree()

    def on_mount(self) -> None:
        hierarchies = self.query_one("#hierarchies", OptionList)
        host = self.host
        hierarchies.add_options(Option(f"{m.key} v{m.version}", id=m.key) for m in host.mounts)
        first = opening(host)
        if first is not None:
            hierarchies.highlighted = host.mounts.index(first)

    @property
    def hierarchy(self) -> str | None:
        options = self.query_one("#hierarchies", OptionList)
        if options.highlighted is None:
            return None
        return options.get_option_at_index(options.highlighted).id

    def draw(self, frame: Frame) -> None:
        assert frame.trees is not None
        key = self.hierarchy
        found = next(((m, t) for m, t in frame.trees if m.key == key), None)
        if found is None:
            return
        mount, root = found
        names = {c.cgroup[mount.key]: c.name for c in frame.inventory.containers if mount.key in c.cgroup}
        self.query_one(CgroupTree).show(mount.key, root, names)
        put(self.query_one("#caption", Label), visible(self._caption(mount, root)))

    def _caption(self, mount: CgroupMount, root: CgroupNode) -> str:
        where = self.host.shown(mount.mountpoint)
        return f"{where} · {_size(root)} cgroups · {root.total_procs} processes · counts: direct/total"

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.drawn is not None:
            self.draw(self.drawn)

    def action_hierarchy(self, step: int) -> None:
        options = self.query_one("#hierarchies", OptionList)
        count = options.option_count
        if count:
            options.highlighted = ((options.highlighted or 0) + step) % count

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        """A container's cgroup opens that container's detail."""
        frame = self.drawn
        key = self.hierarchy
        if frame is None or key is None:
            return
        for c in frame.inventory.containers:
            if c.cgroup.get(key) == event.node.data:
                from cgscope.tui.screens.container_detail import ContainerDetailScreen

                self.app.push_screen(ContainerDetailScreen(self.session, c.id))
                return
