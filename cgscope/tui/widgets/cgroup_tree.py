"""One cgroup hierarchy as a tree: each node's name, its processes (direct/total) and its container."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from cgscope.model.tree import CgroupNode
from cgscope.render import views
from cgscope.render.table import visible


def node_label(node: CgroupNode, containers: Mapping[str, str]) -> Text:
    name = node.path.rsplit("/", 1)[-1] or node.path
    label = Text.assemble(visible(name), ("  " + views.tree_counts(node), "dim"))
    container = containers.get(node.path)
    if container is not None:
        label.append(f"  {visible(container)}", style="bold italic")
    return label


class CgroupTree(Tree[str]):
    """Node data is the cgroup path. Refreshes keep which nodes are open and where the cursor is."""

    def __init__(self) -> None:
        super().__init__("", id="cgroup-tree")
        self.hierarchy: str | None = None

    def show(self, hierarchy: str, root: CgroupNode, containers: Mapping[str, str]) -> None:
        """Draw `root`; `containers` names the container whose cgroup a path is."""
        if hierarchy != self.hierarchy:  # another hierarchy: start folded again
            self.hierarchy = hierarchy
            self.root.remove_children()
            self.root.expand()
        self.root.data = root.path
        self.root.set_label(node_label(root, containers))
        self._reconcile(self.root, root, containers)

    def _reconcile(
        self,
        shown: TreeNode[str],
        node: CgroupNode,
        containers: Mapping[str, str],
        opened: set[str] | None = None,
    ) -> None:
        """Make `shown`'s subtree draw `node`'s; a level whose cgroups changed is rebuilt, keeping the
        nodes that were open (`opened`) open."""
        if [c.data for c in shown.children] != [c.path for c in node.children]:
            opened = opened if opened is not None else _opened(shown)
            shown.remove_children()
            for child in node.children:
                added = shown.add(
                    node_label(child, containers),
                    data=child.path,
                    expand=child.path in opened,
                    allow_expand=bool(child.children),
                )
                self._reconcile(added, child, containers, opened)
            return
        for shown_child, child in zip(shown.children, node.children, strict=True):
            shown_child.set_label(node_label(child, containers))
            shown_child.allow_expand = bool(child.children)
            self._reconcile(shown_child, child, containers)


def _opened(node: TreeNode[str]) -> set[str]:
    """The paths of the open nodes below `node`."""
    out: set[str] = set()
    for child in node.children:
        if child.is_expanded and child.data is not None:
            out.add(child.data)
            out |= _opened(child)
    return out
