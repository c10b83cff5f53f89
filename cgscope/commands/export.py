"""`cgscope export`: an OpenMetrics endpoint for Prometheus (docs/export.md)."""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
from types import FrameType
from typing import TextIO

from cgscope.commands import Commands, seconds
from cgscope.errors import CgscopeError
from cgscope.fs.hostroot import HostRoot

DEFAULT_PORT = 10720  # outside the ports allocated to Prometheus and its exporters: docs/export.md
DEFAULT_INTERVAL = 0.5  # below a 1 s scrape interval, so that each scrape of one server gets its own sample


def register(commands: Commands) -> None:
    parser = commands.add(
        "export",
        "serve the containers' usage and limits to Prometheus, with cAdvisor's metric names "
        f"(http://127.0.0.1:{DEFAULT_PORT}/metrics; see docs/export.md)",
        export,
        json_output=False,
        schema="docs/export.md",
    )
    parser.add_argument(
        "--listen",
        type=listen_address,
        default=("127.0.0.1", DEFAULT_PORT),
        metavar="ADDR:PORT",
        help=f"where to serve (default 127.0.0.1:{DEFAULT_PORT}; 0.0.0.0:{DEFAULT_PORT} or "
        f"[::]:{DEFAULT_PORT} for every interface; port 0 for any free one)",
    )
    parser.add_argument(
        "--interval",
        type=seconds,
        default=DEFAULT_INTERVAL,
        metavar="S",
        help=f"scrapes within S seconds of the last reading share it (default {DEFAULT_INTERVAL:g}): "
        "the host is read at most once per S, however many servers scrape",
    )
    parser.add_argument(
        "--once", action="store_true", help="print one scrape (the Prometheus text format) and exit"
    )


def listen_address(text: str) -> tuple[str, int]:
    """ "ADDR:PORT" or "[IPv6]:PORT", ADDR an IP address."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        number = -1
    if not sep or not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not ADDR:PORT (an IP address and a port: 127.0.0.1:{DEFAULT_PORT}, "
            f"[::1]:{DEFAULT_PORT})"
        )
    return host, number


class _Stop(Exception):
    """SIGTERM: stop serving."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def export(args: argparse.Namespace, host: HostRoot, out: TextIO) -> int:
    from cgscope.export.server import Exporter, serve
    from cgscope.export.source import Source

    exporter = Exporter(Source(host), args.interval)
    if args.once:
        out.write(exporter.body(openmetrics=False).decode())
        return 0
    exporter.body(openmetrics=False)  # finds the containers now, not at the first scrape
    address, port = args.listen
    try:
        server = serve(exporter, address, port)
    except OSError as exc:
        raise CgscopeError(
            f"cannot listen on {_shown(address, port)}: {exc.strerror or exc} (another exporter there? "
            "choose another with --listen)"
        ) from None
    bound = server.server_address[1]
    print(
        f"cgscope export: serving http://{_shown(address, bound)}/metrics "
        f"(the host read at most every {args.interval:g} s)",
        file=sys.stderr,
        flush=True,
    )
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except _Stop:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
    return 0


def _shown(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
