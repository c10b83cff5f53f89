"""Changing things: limit, move, freeze, thaw, history, undo, nsenter. All go through cgscope/control/."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cgscope.commands import Commands, emit_json
from cgscope.errors import CgscopeError
from cgscope.fs.hostroot import HostRoot

if TYPE_CHECKING:
    from cgscope.control.plan import Plan

# limit's options: (flag, dest, metavar, help)
LIMIT_OPTIONS = (
    ("--cpu", "cpu", "SHARE", "CPU time: a percentage of one CPU (20%%), a number of CPUs (1.5), or max"),
    ("--cpu-period", "cpu_period", "USEC", "the CFS period the quota counts in (1000-1000000 µs)"),
    ("--cpu-weight", "cpu_weight", "N", "CPU weight 1-10000, default 100 (v1: cpu.shares = N * 1024 / 100)"),
    ("--memory", "memory", "SIZE", "memory limit: 256M, 1.5G, bytes, or max"),
    ("--memory-swap", "memory_swap", "SIZE", "memory + swap limit, as docker's --memory-swap, or max"),
    ("--pids", "pids", "N", "most processes and threads at once, or max"),
    ("--cpuset", "cpuset", "CPUS", "the CPUs it may run on: 0-1, 0,2, or max (all of the parent's)"),
    ("--io-weight", "io_weight", "N", "IO weight 1-10000 (v1 BFQ: 1-1000)"),
    ("--into", "into", "NAME", "put the target in this cgroup: a name below its cgroup, or /PATH"),
)


def register(commands: Commands) -> None:
    limit_parser = commands.add(
        "limit",
        "limit a process's or a container's CPU, memory, pids, CPUs or IO",
        limit,
        schema="docs/control.md",
        writes=True,
    )
    limit_parser.add_argument("target", metavar="PID|CONTAINER")
    for flag, dest, metavar, help_text in LIMIT_OPTIONS:
        limit_parser.add_argument(flag, dest=dest, metavar=metavar, help=help_text)
    limit_parser.add_argument(
        "--io-max",
        action="append",
        default=[],
        metavar="MAJ:MIN:KEY=V,...",
        help="IO limits for a disk: rbps, wbps (bytes/s), riops, wiops; each a number or max",
    )
    limit_parser.add_argument(
        "--clear", action="store_true", help="remove the CPU, memory, swap and pids limits"
    )
    _change_options(limit_parser)

    move_parser = commands.add(
        "move",
        "move a process, with all its threads, into a cgroup",
        move,
        schema="docs/control.md",
        writes=True,
    )
    move_parser.add_argument("pid", metavar="PID")
    move_parser.add_argument("cgroup", metavar="CGROUP", help="a path as /proc/PID/cgroup shows it: /a/b")
    move_parser.add_argument("--create", action="store_true", help="make the cgroup where it is missing")
    move_parser.add_argument(
        "--controller",
        action="append",
        default=[],
        metavar="NAME",
        help="only this hierarchy or controller (repeatable; default: every hierarchy)",
    )
    _change_options(move_parser)

    for name, verb in (("freeze", "stop"), ("thaw", "resume")):
        parser = commands.add(
            name,
            f"{verb} every process of a container (its cgroup's freezer)",
            freeze,
            schema="docs/control.md",
            writes=True,
        )
        parser.add_argument("target", metavar="CONTAINER")
        parser.set_defaults(frozen=name == "freeze")
        _change_options(parser)

    commands.add("history", "list every change cgscope made (its journal)", history, schema="docs/control.md")
    undo_parser = commands.add(
        "undo", "undo the last change(s) cgscope made", undo, schema="docs/control.md", writes=True
    )
    undo_parser.add_argument("count", nargs="?", default="1", metavar="N", help="how many (default 1)")

    _register_nsenter(commands)


def _register_nsenter(commands: Commands) -> None:
    nsenter_parser = commands.add(
        "nsenter",
        "run a command inside a process's or a container's namespaces and cgroups (as docker exec)",
        nsenter,
        json_output=False,
        writes=True,
    )
    nsenter_parser.add_argument("target", metavar="PID|CONTAINER")
    nsenter_parser.add_argument(
        "--ns", metavar="LIST", help="only these: mnt,uts,ipc,net,pid,user,cgroup,time (default: all)"
    )
    nsenter_parser.add_argument(
        "--keep-cgroup",
        action="store_true",
        help="stay in cgscope's own cgroups, outside the target's limits (as util-linux nsenter)",
    )
    nsenter_parser.add_argument(
        "--keep-caps",
        action="store_true",
        help="keep cgscope's capabilities, not the target's bounding set (as util-linux nsenter)",
    )
    nsenter_parser.add_argument(
        "argv", nargs=argparse.REMAINDER, metavar="-- CMD", help="default: the target's shell"
    )


def _change_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print the exact writes and change nothing")
    parser.add_argument(
        "-y", "--yes", action="store_true", help="do not ask before changing processes outside the target"
    )


def limit(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.control.limits import plan_limit
    from cgscope.control.request import parse_request
    from cgscope.control.target import resolve

    request = parse_request(
        **{dest: getattr(args, dest) for _, dest, _, _ in LIMIT_OPTIONS},
        io_max=args.io_max,
        clear=args.clear,
    )
    command = ["limit", args.target]
    for flag, dest, _, _ in LIMIT_OPTIONS:
        if getattr(args, dest) is not None:
            command += [flag, getattr(args, dest)]
    command += [x for value in args.io_max for x in ("--io-max", value)] + ["--clear"] * args.clear
    _carry_out(args, host, out, plan_limit(host, resolve(host, args.target), request), command)


def move(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.control.move import plan_move

    plan = plan_move(host, args.pid, args.cgroup, create=args.create, hierarchies=args.controller)
    command = ["move", args.pid, args.cgroup] + ["--create"] * args.create
    command += [x for name in args.controller for x in ("--controller", name)]
    _carry_out(args, host, out, plan, command)


def freeze(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.control.freeze import plan_freeze

    plan = plan_freeze(host, args.target, frozen=args.frozen)
    _carry_out(args, host, out, plan, ["freeze" if args.frozen else "thaw", args.target])


def _carry_out(args: argparse.Namespace, host: HostRoot, out: TextIO, plan: Plan, command: list[str]) -> None:
    """Print a dry run, or ask where needed, apply, and say what was done."""
    from cgscope.control.apply import apply
    from cgscope.control.journal import Journal
    from cgscope.render.control import plan_json, plan_lines

    if args.dry_run:
        if args.json:
            emit_json(out, plan_json(plan, dry_run=True, change=None))
        else:
            out.write("\n".join(plan_lines(plan, host, f"cgscope would {plan.action} {plan.target}")) + "\n")
        return
    confirmed = _confirm(plan, host, args.yes)
    change = apply(host, plan, Journal.default(), command=command, confirmed=confirmed)
    if args.json:
        emit_json(out, plan_json(plan, dry_run=False, change=change))
    elif change is None:
        out.write("\n".join(plan_lines(plan, host, f"nothing to change for {plan.target}")) + "\n")
    else:
        done = replace(plan, steps=change.steps)  # with the old values read just before writing
        heading = f"change {change.id}: {plan.action} {plan.target} ('cgscope undo' reverts it)"
        out.write("\n".join(plan_lines(done, host, heading)) + "\n")


def _confirm(plan: Plan, host: HostRoot, yes: bool) -> bool:
    """Ask on a terminal before a change that reaches other processes or risks an OOM kill."""
    from cgscope.control.errors import NeedsConfirmation
    from cgscope.render.control import plan_lines

    if not plan.needs_confirmation or yes:
        return True
    if not sys.stdin.isatty():
        raise NeedsConfirmation(
            f"nothing changed: {plan.confirmation_reason()}; confirm on a terminal, or add --yes"
        )
    sys.stderr.write("\n".join(plan_lines(plan, host, f"cgscope will {plan.action} {plan.target}")) + "\n")
    sys.stderr.write("Apply this change? [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise CgscopeError("nothing changed: not confirmed")
    return True


def history(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.control.journal import Journal
    from cgscope.render.control import history_json, history_table
    from cgscope.render.table import print_table

    journal = Journal.default()
    changes = journal.changes()
    if args.json:
        emit_json(out, history_json(journal.path, changes))
    elif not changes:
        out.write(f"no changes recorded in {journal.path}\n")
    else:
        print_table(history_table(changes), out, out.isatty())


def undo(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.control.errors import InvalidRequest
    from cgscope.control.journal import Journal
    from cgscope.control.undo import undo as undo_changes
    from cgscope.render.control import undone_json, undone_lines

    if not args.count.isdigit():
        raise InvalidRequest(f"undo {args.count}: give how many changes to undo (1 or more)")
    undone = undo_changes(host, Journal.default(), int(args.count))
    if args.json:
        emit_json(out, undone_json(undone))
    else:
        out.write("\n".join(undone_lines(undone)) + "\n")


def nsenter(args: argparse.Namespace, host: HostRoot, out: TextIO) -> int:
    from cgscope.control import nsenter as enter
    from cgscope.model.collect import Collector
    from cgscope.model.containers import group_containers
    from cgscope.model.target import resolve

    if host.root != Path("/"):
        raise CgscopeError("nsenter enters live processes: it cannot run with --root")
    options = _after_target(args, args.argv)
    collector = Collector(host)
    pid = resolve(group_containers(host, collector), args.target, collector.process).pid
    namespaces = enter.parse_namespaces(options.ns) if options.ns is not None else enter.ORDER
    entry = enter.prepare(
        host,
        pid,
        namespaces,
        options.argv,
        keep_cgroup=options.keep_cgroup,
        keep_caps=options.keep_caps,
    )
    return enter.run(host, entry)  # the command's status


def _after_target(args: argparse.Namespace, words: list[str]) -> argparse.Namespace:
    """argparse hands everything after the target to the command: take nsenter's own options given
    there (`nsenter PID --ns uts --keep-cgroup -- hostname`), then the `--` that starts the command."""
    from cgscope.control.errors import InvalidRequest

    ns, keep_cgroup, keep_caps = args.ns, args.keep_cgroup, args.keep_caps
    rest = list(words)
    while rest and (rest[0] in ("--keep-cgroup", "--keep-caps") or rest[0].startswith("--ns")):
        if rest[0] == "--keep-cgroup":
            keep_cgroup, rest = True, rest[1:]
        elif rest[0] == "--keep-caps":
            keep_caps, rest = True, rest[1:]
        elif rest[0] == "--ns" and len(rest) > 1:
            ns, rest = rest[1], rest[2:]
        elif rest[0].startswith("--ns="):
            ns, rest = rest[0].removeprefix("--ns="), rest[1:]
        else:
            raise InvalidRequest("--ns: give the namespace types to enter, such as --ns uts,net")
    argv = rest[1:] if rest[:1] == ["--"] else rest
    return argparse.Namespace(ns=ns, keep_cgroup=keep_cgroup, keep_caps=keep_caps, argv=argv)
