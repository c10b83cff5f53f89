"""`cgscope replay`: the dashboard on recorded frames. Its options are parsed here; the dashboard itself
(cgscope/tui/replay.py) is opened by the cli, as the live one is."""

from __future__ import annotations

from cgscope.commands import Commands
from cgscope.commands.report import add_dir, moment


def register(commands: Commands) -> None:
    parser = commands.add(
        "replay",
        "the dashboard on the history `cgscope record` wrote: [ ] step one frame, { } jump to events, "
        "t goes to a time",
        None,
        json_output=False,
    )
    add_dir(parser)
    parser.add_argument(
        "--at",
        type=moment,
        default=None,
        metavar="TIME",
        help='start at the frame nearest TIME (default: the first): "10 min ago", "2h ago", "03:00", '
        "ISO 8601",
    )
