"""What makes a container besides its cgroups: its isolation, rootfs layers and lifecycle; and what it
changed in its rootfs."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from cgscope.commands import Commands, emit_json
from cgscope.fs.hostroot import HostRoot

if TYPE_CHECKING:
    from cgscope.model.layers import RootFs

TARGET_HELP = "a container (a name, an id prefix or any member pid), or the pid of a host process"


def register(commands: Commands) -> None:
    inspect_parser = commands.add(
        "inspect",
        "a container's isolation map, rootfs layers and lifecycle",
        inspect,
        schema="docs/inspect.md",
    )
    inspect_parser.add_argument("target", metavar="CONTAINER|PID", help=TARGET_HELP)
    inspect_parser.add_argument(
        "--no-sizes", action="store_true", help="do not walk the layers to measure their size"
    )
    diff_parser = commands.add(
        "diff",
        "what a container added (A), changed (C) and deleted (D) in its rootfs, like docker diff",
        diff,
        schema="docs/inspect.md",
    )
    diff_parser.add_argument("target", metavar="CONTAINER|PID", help=TARGET_HELP)
    diff_parser.add_argument(
        "--replaced",
        action="store_true",
        help="mark directories deleted and made anew (docker diff shows them as changed)",
    )


def inspect(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.model.collect import Collector
    from cgscope.model.containers import group_containers
    from cgscope.model.inspection import inspect as read_inspection
    from cgscope.model.inspection import subject_of
    from cgscope.model.target import resolve, user_process
    from cgscope.render.inspect import inspection_json, write_inspection

    collector = Collector(host)
    inv = group_containers(host, collector)
    subject = subject_of(inv, resolve(inv, args.target, collector.process), collector.process)
    user_process(subject.process, "inspect")
    ins = read_inspection(host, collector, inv, subject, sizes=not args.no_sizes)
    if args.json:
        emit_json(out, inspection_json(ins))
        return
    write_inspection(ins, out, out.isatty())


def diff(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.errors import CgscopeError
    from cgscope.fs.mounttable import root_device
    from cgscope.model.collect import Collector
    from cgscope.model.containers import group_containers
    from cgscope.model.diff import read_changes
    from cgscope.model.inspection import mount_table, subject_of
    from cgscope.model.layers import open_rootfs
    from cgscope.model.target import resolve, user_process
    from cgscope.render.inspect import diff_json, diff_lines

    collector = Collector(host)
    inv = group_containers(host, collector)
    subject = subject_of(inv, resolve(inv, args.target, collector.process), collector.process)
    user_process(subject.process, "diff")
    pid = subject.process.pid
    mounts = mount_table(host, pid)
    if mounts is None:
        raise CgscopeError(f"/proc/{pid}/mountinfo: permission denied; run as root")
    with open_rootfs(host, pid, mounts, root_device(host.proc, pid), sizes=False) as opened:
        rootfs = opened.rootfs
        _comparable(rootfs, pid)
        changes = read_changes(opened)
    if args.json:
        emit_json(out, diff_json(subject, rootfs, changes))
        return
    for line in diff_lines(changes, replaced=args.replaced):
        out.write(line + "\n")


def _comparable(rootfs: RootFs, pid: int) -> None:
    """Refuse, in one line, a rootfs that has no container layer to compare with layers below it."""
    from cgscope.errors import CgscopeError

    if rootfs.mount is None:
        raise CgscopeError(f"pid {pid} stands in a directory whose mount it cannot see: no layers to compare")
    if rootfs.driver is None:
        raise CgscopeError(
            f"pid {pid}'s root is a {rootfs.mount.fstype} mount, not overlay or aufs: no layers to compare"
        )
    if not rootfs.layers:
        raise CgscopeError(
            f"pid {pid}'s {rootfs.driver} layers cannot be read (aufs: /sys/fs/aufs); run as root"
        )
    if rootfs.upper is None:
        raise CgscopeError(
            f"pid {pid}'s {rootfs.driver} root has no writable layer: it cannot change anything"
        )
