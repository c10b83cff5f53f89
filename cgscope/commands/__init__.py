"""The one-shot commands, one module per group. Each module has `register(commands)` adding its
subcommands, with a handler set as `run`.

Every command module is imported to build the parser, so a module imports at its top only what parsing
needs; its handlers import the model and the renderers they use (start-up stays fast).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
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
)


class Commands:
    """Adds subcommands to the `cgscope` parser."""

    def __init__(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        self._sub = sub

    def add(
        self,
        name: str,
        help_text: str,
        run: Handler,
        *,
        json_output: bool = True,
        schema: str = "docs/json.md",
    ) -> argparse.ArgumentParser:
        parser = self._sub.add_parser(name, help=help_text, description=help_text)
        if json_output:
            parser.add_argument(
                "--json", action="store_true", help=f"print JSON for scripts (schema: {schema})"
            )
        parser.set_defaults(run=run)
        return parser


def emit_json(out: TextIO, data: dict[str, Any]) -> None:
    json.dump(data, out, indent=2 if out.isatty() else None)
    out.write("\n")
