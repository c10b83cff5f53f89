"""What is there: containers, processes, namespaces, the cgroup tree."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any, TextIO

from cgscope.commands import Commands, emit_json
from cgscope.errors import NotFound
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount
from cgscope.fs.procfs import NS_TYPES

if TYPE_CHECKING:
    from cgscope.model.borrowed import Figure
    from cgscope.model.containers import Container


def register(commands: Commands) -> None:
    commands.add("containers", "list containers: runtime, init pid, members, namespaces, cgroup", containers)
    ps_parser = commands.add("ps", "list processes, with host pid and in-container pid side by side", ps)
    ps_parser.add_argument(
        "target",
        nargs="?",
        metavar="CONTAINER|PID",
        help="only this container's processes (a name, an id prefix or any member pid)",
    )
    ns_parser = commands.add("ns", "list namespaces, like lsns", ns)
    ns_parser.add_argument("-t", "--type", choices=NS_TYPES, help="only namespaces of this type")
    tree_parser = commands.add("tree", "the cgroup tree with process counts (direct/total)", tree)
    tree_parser.add_argument(
        "-H",
        "--hierarchy",
        metavar="NAME",
        help='only this hierarchy: "unified" (cgroup v2), a v1 one such as "memory", or those holding some '
        'controllers: "cpu,cpuacct" (mounted together or apart)',
    )


def containers(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.fs.procfs import kernel_identity
    from cgscope.model.collect import Collector
    from cgscope.model.containers import group_containers
    from cgscope.model.state import container_states
    from cgscope.render import views

    collector = Collector(host)
    inv = group_containers(host, collector, placed_only=True)
    states = container_states(host, inv, collector)
    identity = kernel_identity(host.proc)
    if args.json:
        emit_json(
            out,
            {
                "host": views.host_json(host, identity, inv),
                "containers": [
                    views.container_json(c, inv, states[c.id], _borrowed(host, c)) for c in inv.containers
                ],
            },
        )
        return
    from cgscope.commands.notes import note_once  # the table's (and its usage model's) imports
    from cgscope.render.columns import pick, table
    from cgscope.render.columns.containers import COLUMNS, INVENTORY, ContainerRow
    from cgscope.render.table import print_table

    primary = host.primary.key if host.primary else None
    rows = [ContainerRow(c, inv, primary, state=states[c.id]) for c in inv.containers]
    rows.append(ContainerRow(None, inv, primary))
    title = f"{identity[0]} · kernel {identity[1]} · cgroup {host.mode}"
    print_table(table(pick(COLUMNS, INVENTORY), rows, title), out, out.isatty())
    if inv.uninspected:
        advice = "not even root may read them" if os.geteuid() == 0 else "run as root to place them"
        note_once(
            "uninspected",
            f"cgscope: {len(inv.uninspected)} processes could not be inspected (permission denied): "
            f"they are counted as the host's; {advice} (said once per terminal session; -q: never)",
            quiet=args.quiet,
        )


def ps(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.model.collect import Collector
    from cgscope.model.containers import group_containers
    from cgscope.model.target import resolve
    from cgscope.render import views
    from cgscope.render.columns import pick, table
    from cgscope.render.columns.processes import COLUMNS, PS, ProcessRow
    from cgscope.render.table import print_table

    collector = Collector(host)
    procs = collector.snapshot().processes
    inv = group_containers(host, collector, procs)
    selected = sorted(procs)
    if args.target is not None:
        found = resolve(inv, args.target, collector.process)
        selected = list(found.container.pids) if found.container else [found.pid]  # a host process: alone
    rows = [procs[pid] for pid in selected if pid in procs]
    if args.json:
        emit_json(out, {"processes": [views.process_json(p, inv) for p in rows]})
    else:
        listed = [ProcessRow(p, inv.container_of.get(p.pid)) for p in rows]
        print_table(table(pick(COLUMNS, PS), listed), out, out.isatty())


def ns(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.model.collect import Collector
    from cgscope.model.namespaces import list_namespaces
    from cgscope.render import views
    from cgscope.render.columns import pick, table
    from cgscope.render.columns.namespaces import COLUMNS, LSNS, NamespaceRow
    from cgscope.render.table import print_table

    rows = [n for n in list_namespaces(Collector(host).snapshot()) if args.type in (None, n.type)]
    if args.json:
        emit_json(out, {"namespaces": [views.namespace_json(n) for n in rows]})
    else:
        print_table(table(pick(COLUMNS, LSNS), [NamespaceRow(n) for n in rows]), out, out.isatty())


def tree(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.model.collect import Collector
    from cgscope.model.containers import group_containers
    from cgscope.model.tree import read_tree
    from cgscope.render import views
    from cgscope.render.table import visible

    mounts = hierarchies(host, args.hierarchy)
    trees = [(m, read_tree(m)) for m in mounts]
    if args.json:
        data: dict[str, Any] = {
            "cgroup_mode": host.mode,
            "hierarchies": [{**views.hierarchy_json(host, m), "tree": views.tree_json(t)} for m, t in trees],
        }
        emit_json(out, data)
        return
    inv = group_containers(host, Collector(host))
    for m, t in trees:
        out.write(f"{m.key} (cgroup v{m.version}, {visible(host.shown(m.mountpoint))}):\n")
        out.write("\n".join(views.tree_lines(t, views.container_cgroups(inv, m.key))) + "\n\n")


def hierarchies(host: HostRoot, wanted: str | None) -> list[CgroupMount]:
    """The hierarchies `-H` names: one by its name ("memory", "cpu,cpuacct", "unified"), or those holding
    the controllers it lists ("cpu,cpuacct" where cpu and cpuacct are mounted apart)."""
    if wanted is None:
        return list(host.mounts)
    named = host.mount(wanted)
    if named is not None:
        return [named]
    found = [host.mount_for(c) for c in wanted.split(",") if c]
    if not found or None in found:
        names = ", ".join(m.key for m in host.mounts)
        raise NotFound(f"no hierarchy named {wanted!r}: choose one of {names}")
    return list(dict.fromkeys(m for m in found if m is not None))


def _borrowed(host: HostRoot, c: Container) -> frozenset[Figure]:
    """The figures `top` takes from the container's processes (model/borrowed.py)."""
    from cgscope.model.borrowed import borrowed
    from cgscope.model.cgdirs import locate
    from cgscope.model.containers import shares_cgroup

    return borrowed(host, c, locate(host, c.cgroup), shares_cgroup(host, c))
