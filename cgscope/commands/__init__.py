"""The one-shot commands, one module per group. Each module has `register(commands)` adding its
subcommands, with a handler set as `run`.

Every command module is imported to build the parser, so a module imports at its top only what parsing
needs; its handlers import the model and the renderers they use (start-up stays fast).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from cgscope.fs.hostroot import HostRoot

# A handler returns the exit status, or None for 0 (a handler that runs a command forwards its status).
Handler = Callable[[argparse.Namespace, HostRoot, TextIO], int | None]

# In the order `cgscope --help` lists them.
MODULES = (
    "cgscope.commands.inventory",
    "cgscope.commands.top",
    "cgscope.commands.inspect",
    "cgscope.commands.control",
    "cgscope.commands.export",
    "cgscope.commands.record",
    "cgscope.commands.report",
    "cgscope.commands.replay",
)

DELAY_MIN, DELAY_MAX = 0.1, 3600.0  # seconds between refreshes, for top and the dashboard alike


def seconds(text: str) -> float:
    """A refresh interval: a number of seconds from DELAY_MIN to DELAY_MAX."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not DELAY_MIN <= value <= DELAY_MAX:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds between {DELAY_MIN:g} and {DELAY_MAX:g}"
        )
    return value


class GlobalOptions:
    """Options that mean the same before or after the command (`cgscope --root X ps`, `cgscope ps
    --root X`). The main parser holds their defaults; a subcommand's copy has none (argparse.SUPPRESS),
    so it sets only what is given after the command and never undoes what came before it."""

    @staticmethod
    def add_to(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
        def default(value: object) -> object:
            return value if defaults else argparse.SUPPRESS

        parser.add_argument(
            "--root",
            type=Path,
            default=default(Path("/")),
            metavar="DIR",
            help="read proc/ and the cgroup mounts under DIR instead of the live host (a captured or "
            "test tree)",
        )
        parser.add_argument(
            "-d",
            "--delay",
            type=seconds,
            default=default(None),
            metavar="SECONDS",
            help="seconds between refreshes, for the dashboard (default 2; + and - change it while it "
            "runs) and top (default 1)",
        )
        parser.add_argument(
            "-q",
            "--quiet",
            action="store_true",
            default=default(False),
            help="no notes on stderr (processes not inspected, shared cgroups); errors are still said",
        )
        parser.add_argument(
            "--read-only",
            action="store_true",
            default=default(False),
            help="change nothing: the dashboard's change keys are off, and commands that would change "
            "something refuse",
        )


def refusal(args: argparse.Namespace) -> str | None:
    """Why the command may not run as asked: a change under --read-only."""
    if args.read_only and args.writes:
        return f"read-only (--read-only): {args.command} would change the system, and is off"
    return None


class Commands:
    """Adds subcommands to the `cgscope` parser."""

    def __init__(self, sub: argparse._SubParsersAction[Any]) -> None:
        self._sub = sub

    def add(
        self,
        name: str,
        help_text: str,
        run: Handler | None,
        *,
        json_output: bool = True,
        schema: str = "docs/json.md",
        writes: bool = False,
        refreshes: bool = False,
    ) -> argparse.ArgumentParser:
        """`run` None: a dashboard the cli opens (`replay`). `writes`: the command changes cgroups or
        processes (refused under --read-only); `refreshes`: it samples more than once and takes -d."""
        parser: argparse.ArgumentParser = self._sub.add_parser(
            name, help=help_text, description=help_text, allow_abbrev=False
        )
        if json_output:
            parser.add_argument(
                "--json", action="store_true", help=f"print JSON for scripts (schema: {schema})"
            )
        GlobalOptions.add_to(parser, defaults=False)
        parser.set_defaults(run=run, writes=writes, refreshes=refreshes)
        return parser


def emit_json(out: TextIO, data: dict[str, Any]) -> None:
    # dumps(), not dump(): dump() writes each token apart (tens of thousands of writes on a node), and
    # only dumps() without indent takes the C encoder.
    out.write(json.dumps(data, indent=2 if out.isatty() else None) + "\n")
