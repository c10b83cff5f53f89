"""The `cgscope` command: one-shot commands (cgscope/commands/) and, with no command, the dashboard.

One-shot commands never import textual: start-up stays fast.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from collections.abc import Sequence
from typing import TextIO

from cgscope import __version__
from cgscope.commands import MODULES, Commands, GlobalOptions, refusal
from cgscope.errors import CgscopeError
from cgscope.fs.hostroot import HostRoot
from cgscope.render.table import visible


class Parser(argparse.ArgumentParser):
    """argparse, saying which choice was meant when a command or a choice is mistyped (what Python
    3.14's suggest_on_error does, for every version cgscope runs on)."""

    def _check_value(self, action: argparse.Action, value: object) -> None:
        choices = action.choices
        if isinstance(value, str) and choices is not None and value not in choices:
            close = difflib.get_close_matches(value, [str(c) for c in choices], n=1)
            if close:
                raise argparse.ArgumentError(action, f"invalid choice: {value!r}: did you mean {close[0]!r}?")
        super()._check_value(action, value)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="cgscope",
        description="See how Linux isolates (namespaces) and limits (cgroups) processes and containers. "
        "With no command, opens the dashboard.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"cgscope {__version__}")
    GlobalOptions.add_to(parser, defaults=True)
    commands = Commands(parser.add_subparsers(dest="command", metavar="COMMAND"))
    for name in MODULES:
        importlib.import_module(name).register(commands)
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
            from cgscope.tui.app import DEFAULT_INTERVAL, run_dashboard  # only the dashboard pays for textual

            interval = args.delay if args.delay is not None else DEFAULT_INTERVAL
            return run_dashboard(args.root, interval=interval, read_only=args.read_only)
        if args.run is None:
            return _replay(args)
        if args.delay is not None and not args.refreshes:
            print(
                f"cgscope {args.command}: -d/--delay: {args.command} prints once; only top and the "
                "dashboard refresh",
                file=sys.stderr,
            )
            return 2
        refused = refusal(args)
        if refused is not None:
            print(f"cgscope: {refused}", file=sys.stderr)
            return 1
        host = HostRoot.at(args.root)
        host.mode  # noqa: B018 - raises NoCgroups early, with its one-line message
        status: int | None = args.run(args, host, out)
    except CgscopeError as exc:  # its message may hold a container's name, a path: the host's strings
        print(f"cgscope: {visible(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `cgscope ps | head`: the reader left, which is fine
        sys.stderr.close()
        return 0
    return status or 0


def _replay(args: argparse.Namespace) -> int:
    """The dashboard on recorded frames; its frames come as recorded, at no delay of the user's."""
    if args.delay is not None:
        print(f"cgscope {args.command}: -d/--delay: frames show as recorded ([ and ] step)", file=sys.stderr)
        return 2
    from cgscope.commands.report import store_dir
    from cgscope.tui.replay import run_replay

    return run_replay(args.root, store_dir(args), args.at)


def entrypoint() -> None:
    sys.exit(main())
