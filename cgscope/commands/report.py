"""`cgscope report`: what the recorded history says of each container over a stretch of time: CPU and
memory against their limits at their peak and on average, time throttled, OOM kills and their victims,
and the events (docs/history.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from cgscope.commands import Commands, emit_json
from cgscope.fs.hostroot import HostRoot
from cgscope.history.when import BadTime, parse_time

if TYPE_CHECKING:
    from cgscope.history.events import Event
    from cgscope.history.report import ContainerSummary, Summary
    from cgscope.render.columns.report import Row

DEFAULT_SINCE = "1h"


def moment(text: str) -> float:
    """A time as people type it (history/when.py), for argparse: a usage error otherwise."""
    try:
        return parse_time(text)
    except BadTime as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the store `cgscope record` writes (default $CGSCOPE_STATE/history, or /var/lib/cgscope/history "
        "for root)",
    )


def store_dir(args: argparse.Namespace) -> Path:
    from cgscope.commands.record import default_dir

    return args.dir if args.dir is not None else default_dir()


def register(commands: Commands) -> None:
    parser = commands.add(
        "report",
        "what the recorded history says of each container: peak and mean CPU and memory against their "
        "limits, time throttled, OOM kills and their victims, events (see `cgscope record`)",
        report,
    )
    add_dir(parser)
    parser.add_argument(
        "--since",
        type=moment,
        default=DEFAULT_SINCE,
        metavar="TIME",
        help=f'from TIME (default {DEFAULT_SINCE}: an hour ago): "10 min ago", "2h", "03:00", ISO 8601',
    )
    parser.add_argument(
        "--until", type=moment, default=None, metavar="TIME", help="up to TIME (default: now)"
    )
    parser.add_argument(
        "container", nargs="?", metavar="CONTAINER", help="only this container (a name, an id or its start)"
    )


def report(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.history import store
    from cgscope.history.report import summarize

    directory = store_dir(args)
    summary = summarize(store.index(directory, args.since, args.until, rollups=True), args.container)
    if args.json:
        emit_json(out, report_json(summary, directory))
        return
    _print(summary, directory, args, out)
    if summary.warnings and not args.quiet:
        import sys

        from cgscope.render.table import visible

        for line in summary.warnings:
            print(f"cgscope report: {visible(line)}", file=sys.stderr)


def report_json(s: Summary, directory: Path) -> dict[str, Any]:
    return {
        "history": {
            "dir": str(directory),
            "first_at": s.first_at,
            "last_at": s.last_at,
            "frames": s.frames,
            "warnings": s.warnings,
        },
        "containers": [_container_json(c) for c in s.containers],
        "events": [_event_json(e) for e in s.events],
    }


def _container_json(c: ContainerSummary) -> dict[str, Any]:
    return {
        "container": c.ref,
        "frames": c.frames,
        "first_at": c.first_at,
        "last_at": c.last_at,
        "cpu": {
            "allowance_cpus": c.cpus,
            "peak_percent_of_limit": _round(c.cpu_peak),
            "mean_percent_of_limit": _round(c.cpu_mean),
            "throttled_seconds": _round(c.throttled_s, 3),
        },
        "memory": {
            "peak_working_set_bytes": c.wset_peak,
            "limit_bytes": c.limit_bytes,
            "peak_percent_of_limit": _round(c.wset_peak_percent),
        },
        "oom_kills": [
            {"at": e.at, "victim_pid": e.detail.get("victim_pid"), "victim_comm": e.detail.get("victim_comm")}
            for e in c.oom_kills
        ],
    }


def _event_json(e: Event) -> dict[str, Any]:
    return {"at": e.at, "kind": e.kind, "container": e.container, "detail": e.detail}


def _round(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(x, digits)


def _row(c: ContainerSummary) -> Row:
    from cgscope.render.columns.report import Row

    victims = [(e.detail.get("victim_pid"), e.detail.get("victim_comm")) for e in c.oom_kills]
    return Row(
        c.ref, c.cpu_peak, c.cpu_mean, c.cpus, c.throttled_s, c.wset_peak, c.limit_bytes, c.wset_peak_percent,
        victims,
    )  # fmt: skip


def _print(s: Summary, directory: Path, args: argparse.Namespace, out: TextIO) -> None:
    from cgscope.history.report import event_detail, stamp
    from cgscope.render.columns import table
    from cgscope.render.columns.report import COLUMNS, EVENT_COLUMNS, EventRow
    from cgscope.render.table import print_table, visible

    if s.first_at is None or s.last_at is None:
        asked = f"since {stamp(args.since)}" + (f" until {stamp(args.until)}" if args.until else "")
        out.write(f"no frame recorded in {visible(str(directory))} {asked}\n")
    else:
        span = f"{stamp(s.first_at)} to {stamp(s.last_at)}"
        out.write(f"history in {visible(str(directory))}: {span} · {s.frames} frames\n")
        print_table(table(COLUMNS, [_row(c) for c in s.containers]), out, out.isatty())
    if s.events:
        events = [
            EventRow(stamp(e.at), e.kind, str(e.container.get("name")), event_detail(e)) for e in s.events
        ]
        out.write("\n")
        print_table(table(EVENT_COLUMNS, events), out, out.isatty())
    elif s.first_at is not None:
        out.write("\nno event recorded\n")
