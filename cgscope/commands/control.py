"""Changing things: limit, move, freeze, thaw, kill, history, undo, nsenter. All go through
cgscope/control/."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from cgscope.commands import Commands, emit_json
from cgscope.control import request
from cgscope.errors import CgscopeError
from cgscope.fs.hostroot import HostRoot

if TYPE_CHECKING:
    from cgscope.control.plan import Plan


class _DockerFlag(argparse.Action):
    """An option of `docker run`/`docker update`: one line naming cgscope's, its value converted."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        flag: str | None = None,
    ) -> None:
        assert flag is not None
        parser.exit(2, f"{parser.prog}: {request.docker_hint(flag, values)}\n")


def _register_limit(commands: Commands) -> None:
    limit_parser = commands.add(
        "limit",
        "limit a process's or a container's CPU, memory, pids, CPUs or IO",
        limit,
        schema="docs/control.md",
        writes=True,
    )
    limit_parser.add_argument("target", metavar="PID|CONTAINER")
    for option in request.LIMIT_OPTIONS:
        limit_parser.add_argument(
            option.flag,
            dest=option.dest,
            metavar=option.metavar,
            help=option.help.replace("%", "%%"),
            action="append" if option.repeat else "store",
            default=[] if option.repeat else None,
        )
    limit_parser.add_argument("--clear", action="store_true", help=request.CLEAR_HELP)
    for flag in request.DOCKER_FLAGS:
        limit_parser.add_argument(flag, nargs="?", action=_DockerFlag, help=argparse.SUPPRESS)
    _change_options(limit_parser)


def _register_changes(commands: Commands) -> None:
    """move, freeze, thaw, kill."""
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

    kill_parser = commands.add(
        "kill", "send a signal to a process (journaled; a signal cannot be undone)", kill, writes=True,
        schema="docs/control.md",
    )  # fmt: skip
    kill_parser.add_argument("pid", metavar="PID")
    kill_parser.add_argument(
        "-s", "--signal", default="TERM", metavar="SIG", help="TERM (default), KILL, HUP, INT, STOP or CONT, "
        "by name or number",
    )  # fmt: skip
    _change_options(kill_parser)


def _register_journal(commands: Commands) -> None:
    commands.add("history", "list every change cgscope made (its journal)", history, schema="docs/control.md")
    undo_parser = commands.add(
        "undo", "undo the last change cgscope made, or one by its id", undo, schema="docs/control.md",
        writes=True,
    )  # fmt: skip
    undo_parser.add_argument(
        "id", nargs="?", metavar="ID", help="the change, as 'cgscope history' numbers it"
    )
    undo_parser.add_argument("--last", metavar="N", help="the last N changes in effect, newest first")
    _change_options(undo_parser, yes="do not ask before undoing more than one change")


def register(commands: Commands) -> None:
    _register_limit(commands)
    _register_changes(commands)
    _register_journal(commands)
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


def _change_options(
    parser: argparse.ArgumentParser, yes: str = "do not ask before changing processes outside the target"
) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print the exact writes and change nothing")
    parser.add_argument("-y", "--yes", action="store_true", help=yes)


def limit(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.control.limits import plan_limit
    from cgscope.control.target import resolve

    given = {option.dest: getattr(args, option.dest) for option in request.LIMIT_OPTIONS}
    parsed = request.parse_request(clear=args.clear, **given)
    command = request.command_line(args.target, given, clear=args.clear)
    _carry_out(args, host, out, plan_limit(host, resolve(host, args.target), parsed), command)


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


def kill(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.control.kill import parse_signal, plan_kill

    name = parse_signal(args.signal)
    if host.root != Path("/"):
        raise CgscopeError("kill signals live processes: it cannot run with --root")
    _carry_out(args, host, out, plan_kill(host, args.pid, name), ["kill", args.pid, "-s", name])


def _carry_out(args: argparse.Namespace, host: HostRoot, out: TextIO, plan: Plan, command: list[str]) -> None:
    """Print a dry run, or ask where needed, apply, and say what was done."""
    from cgscope.control.apply import apply, review
    from cgscope.control.journal import Journal
    from cgscope.render.control import plan_json, plan_lines

    journal = Journal.default()
    plan = review(host, plan, journal)
    if args.dry_run:
        if args.json:
            emit_json(out, plan_json(plan, dry_run=True, change=None))
        else:
            out.write("\n".join(plan_lines(plan, host, f"cgscope would {plan.action} {plan.target}")) + "\n")
        return
    confirmed = _confirm(plan, host, args.yes)
    change = apply(host, plan, journal, command=command, confirmed=confirmed)
    if args.json:
        emit_json(out, plan_json(plan, dry_run=False, change=change))
    elif change is None:
        out.write("\n".join(plan_lines(plan, host, f"nothing to change for {plan.target}")) + "\n")
    else:
        done = replace(plan, steps=change.steps)  # with the old values read just before writing
        way_back = "'cgscope undo' reverts it" if plan.undoable else "a signal cannot be undone"
        heading = f"change {change.id}: {plan.action} {plan.target} ({way_back})"
        out.write("\n".join(plan_lines(done, host, heading)) + "\n")


def _ask(lines: Sequence[str], question: str, reason: str) -> None:
    """Show `lines` and ask on the terminal; without one, refuse saying `reason` (nothing changed)."""
    from cgscope.control.errors import NeedsConfirmation

    if not sys.stdin.isatty():
        raise NeedsConfirmation(f"nothing changed: {reason}; confirm on a terminal, or add --yes")
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise NeedsConfirmation("nothing changed: not confirmed")


def _confirm(plan: Plan, host: HostRoot, yes: bool) -> bool:
    """Ask on a terminal before a change that reaches other processes or risks an OOM kill."""
    from cgscope.render.control import plan_lines

    if plan.needs_confirmation and not yes:
        lines = plan_lines(plan, host, f"cgscope will {plan.action} {plan.target}")
        _ask(lines, "Apply this change?", plan.confirmation_reason())
    return True


def _warn_skipped(path: Path, skipped: Sequence[str]) -> None:
    from cgscope.render.table import visible

    for line in skipped:  # why a line is not a record may quote it: a target's name, the host's
        print(f"cgscope: warning: {path}: {visible(line)}: skipped", file=sys.stderr)


def history(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.control.journal import Journal
    from cgscope.render.control import history_json, history_table
    from cgscope.render.table import print_table

    journal = Journal.default()
    reading = journal.read()
    _warn_skipped(journal.path, reading.skipped)
    if args.json:
        emit_json(out, history_json(journal.path, reading.changes, reading.skipped))
    elif not reading.changes:
        out.write(f"no changes recorded in {journal.path}\n")
    else:
        print_table(history_table(reading.changes), out, out.isatty())


def undo(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.control.journal import Journal
    from cgscope.control.undo import undo as undo_changes
    from cgscope.render.control import undone_json, undone_lines

    change_id = _whole(args.id, f"undo {args.id!r}: give a change id as 'cgscope history' numbers it")
    last = _whole(args.last, f"--last {args.last!r}: give how many changes to undo")
    if change_id is not None and last is not None:
        raise CgscopeError("undo: give an ID or --last N, not both")
    journal = Journal.default()
    _warn_skipped(journal.path, journal.read().skipped)
    if last is not None and last > 1 and not args.dry_run and not args.yes:
        preview = undo_changes(host, journal, last=last, dry_run=True)
        ids = ", ".join(str(u.change.id) for u in preview)
        _ask(
            undone_lines(preview, dry_run=True),
            f"Undo these {last} changes?",
            f"undo --last {last} undoes changes {ids}",
        )
    undone = undo_changes(host, journal, change_id=change_id, last=last, dry_run=args.dry_run)
    if args.json:
        emit_json(out, undone_json(undone, dry_run=args.dry_run))
    else:
        out.write("\n".join(undone_lines(undone, dry_run=args.dry_run)) + "\n")


def _whole(text: str | None, refusal: str) -> int | None:
    """A number the user gave (ASCII digits, 1 or more), or None when not given."""
    from cgscope.control.errors import InvalidRequest
    from cgscope.control.plan import ID_MAX

    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 16 or not 1 <= int(text) <= ID_MAX:
        raise InvalidRequest(f"{refusal} (1 or more)")
    return int(text)


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
