"""The `cgscope` command: one-shot views (tables on a terminal, plain text when piped, --json), and the
dashboard.

One-shot commands never import textual: start-up stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from cgscope import __version__
from cgscope.errors import CgscopeError, NotFound
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.procfs import NS_TYPES, kernel_identity
from cgscope.model.collect import Collector
from cgscope.model.containers import group_containers
from cgscope.model.namespaces import list_namespaces
from cgscope.model.tree import read_tree
from cgscope.render import views
from cgscope.render.table import Table, print_table


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cgscope",
        description="See how Linux isolates (namespaces) and limits (cgroups) processes and containers. "
        "With no command, opens the dashboard.",
    )
    parser.add_argument("--version", action="version", version=f"cgscope {__version__}")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("/"),
        metavar="DIR",
        help="read proc/ and the cgroup mounts under DIR instead of the live host (a captured or test tree)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--json", action="store_true", help="print JSON for scripts (schema: docs/json.md)")
        return p

    command("containers", "list containers: runtime, init pid, members, namespaces, cgroup")
    ps = command("ps", "list processes, with host pid and in-container pid side by side")
    ps.add_argument(
        "target",
        nargs="?",
        metavar="CONTAINER|PID",
        help="only this container's processes (a name, an id prefix or any member pid)",
    )
    ns = command("ns", "list namespaces, like lsns")
    ns.add_argument("-t", "--type", choices=NS_TYPES, help="only namespaces of this type")
    tree = command("tree", "the cgroup tree with process counts (direct/total)")
    tree.add_argument(
        "-H",
        "--hierarchy",
        metavar="NAME",
        help='only this hierarchy: "unified" (cgroup v2), or a v1 one such as "memory", "cpu,cpuacct"',
    )
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run cgscope; returns the exit status (0 ok, 1 runtime error, 2 usage error)."""
    out = out if out is not None else sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on a usage error, 0 for --help/--version
        return int(exc.code or 0)
    try:
        if args.command is None:
            from cgscope.tui.app import run_dashboard  # only the dashboard pays for textual

            return run_dashboard(args.root)
        host = HostRoot.at(args.root)
        host.mode  # noqa: B018 - raises NoCgroups early, with its one-line message
        handler = {"containers": _containers, "ps": _ps, "ns": _ns, "tree": _tree}[args.command]
        handler(args, host, out)
    except CgscopeError as exc:
        print(f"cgscope: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `cgscope ps | head`: the reader left, which is fine
        sys.stderr.close()
        return 0
    return 0


def entrypoint() -> None:
    sys.exit(main())


def _emit(args: argparse.Namespace, out: TextIO, data: dict[str, Any], table: Table | None) -> None:
    if args.json or table is None:
        json.dump(data, out, indent=None if not out.isatty() else 2)
        out.write("\n")
    else:
        print_table(table, out, out.isatty())


def _containers(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    inv = group_containers(host, Collector(host))
    identity = kernel_identity(host.proc)
    if args.json:
        data = {
            "host": views.host_json(host, identity, inv),
            "containers": [views.container_json(c, inv) for c in inv.containers],
        }
        _emit(args, out, data, None)
        return
    table = views.containers_table(inv, host.primary.key if host.primary else None)
    table.title = f"{identity[0]} · kernel {identity[1]} · cgroup {host.mode}"
    _emit(args, out, {}, table)
    if inv.uninspected:
        print(
            f"cgscope: {len(inv.uninspected)} processes could not be inspected (permission denied): "
            "they are counted as the host's; run as root to place them",
            file=sys.stderr,
        )


def _ps(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    collector = Collector(host)
    procs = collector.snapshot().processes
    inv = group_containers(host, collector, procs)
    selected = sorted(procs)
    if args.target is not None:
        target = args.target
        if target.isdigit() and int(target) in procs and int(target) not in inv.container_of:
            selected = [int(target)]  # a host process: show it alone
        elif (
            target.isdigit()
            and int(target) not in procs
            and not any(c.id.startswith(target) for c in inv.containers)
        ):
            raise NotFound(f"no such process: {target} (see 'cgscope ps')")
        else:
            selected = list(inv.find(target).pids)
    rows = [procs[pid] for pid in selected]
    data = {"processes": [views.process_json(p, inv) for p in rows]} if args.json else {}
    _emit(args, out, data, None if args.json else views.ps_table(rows, inv))


def _ns(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    rows = [n for n in list_namespaces(Collector(host).snapshot()) if args.type in (None, n.type)]
    data = {"namespaces": [views.namespace_json(n) for n in rows]} if args.json else {}
    _emit(args, out, data, None if args.json else views.namespaces_table(rows))


def _tree(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    mounts = [m for m in host.mounts if args.hierarchy in (None, m.key)]
    if not mounts:
        names = ", ".join(m.key for m in host.mounts)
        raise NotFound(f"no hierarchy named {args.hierarchy!r}: choose one of {names}")
    trees = [(m, read_tree(m)) for m in mounts]
    if args.json:
        data = {
            "mode": host.mode,
            "hierarchies": [{**views.hierarchy_json(host, m), "tree": views.tree_json(t)} for m, t in trees],
        }
        _emit(args, out, data, None)
        return
    for m, t in trees:
        out.write(f"{m.key} (cgroup v{m.version}, {host.shown(m.mountpoint)}):\n")
        out.write("\n".join(views.tree_lines(t)) + "\n\n")
