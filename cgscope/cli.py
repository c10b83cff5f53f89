"""The `cgscope` command: one-shot commands (cgscope/commands/) and, with no command, the dashboard.

One-shot commands never import textual: start-up stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from cgscope import __version__
from cgscope.commands import MODULES, Commands
from cgscope.errors import CgscopeError
from cgscope.fs.hostroot import HostRoot


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
    parser.add_argument(
        "-d",
        "--delay",
        type=_seconds,
        default=2.0,
        metavar="SECONDS",
        help="dashboard: seconds between refreshes (default 2; + and - change it while it runs)",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="dashboard: never change anything (shown in its header)"
    )
    commands = Commands(parser.add_subparsers(dest="command", metavar="COMMAND"))
    for name in MODULES:
        importlib.import_module(name).register(commands)
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0.1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds between 0.1 and 3600")
    return value


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run cgscope; returns the exit status (0 ok, 1 runtime error, 2 usage error)."""
    out = out if out is not None else sys.stdout
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on a usage error, 0 for --help/--version
        return int(exc.code or 0)
    try:
        if args.command is None:
            from cgscope.tui.app import run_dashboard  # only the dashboard pays for textual

            return run_dashboard(args.root, interval=args.delay, read_only=args.read_only)
        host = HostRoot.at(args.root)
        host.mode  # noqa: B018 - raises NoCgroups early, with its one-line message
        status: int | None = args.run(args, host, out)
    except CgscopeError as exc:
        print(f"cgscope: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `cgscope ps | head`: the reader left, which is fine
        sys.stderr.close()
        return 0
    return status or 0


def entrypoint() -> None:
    sys.exit(main())
