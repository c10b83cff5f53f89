"""/metrics over HTTP: samples on scrape, at most once per interval, however many servers scrape.

prometheus_client chooses the format from the Accept header (OpenMetrics 1.0.0 for a Prometheus server,
the text format 0.0.4 otherwise) and says whether gzip is accepted. The HTTP server is the standard
library's (wsgiref, a thread per connection) with bounds against bad clients: at most MAX_CONNECTIONS
at once (more are answered 503 at once, never queued behind a slow one), TIMEOUT seconds for each read
or write of a connection (a client that stops reading is dropped), and http.server's own limits on the
request line (414) and headers (431: 100 headers of 64 KiB at most).
"""

from __future__ import annotations

import gzip
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.exposition import choose_encoder, gzip_accepted

from cgscope.export.exposition import Cost, Renderer
from cgscope.export.source import Reading, Source

MAX_CONNECTIONS = 32
TIMEOUT = 10.0
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class Exporter:
    """Readings on demand, shared by the scrapes that come within `interval` seconds of one another;
    each format is rendered (and compressed) once per reading."""

    def __init__(self, source: Source, interval: float) -> None:
        self.source = source
        self.interval = interval
        self.renderer = Renderer()
        self._lock = threading.Lock()
        self._reading: Reading | None = None
        self._read_at = 0.0
        self._bodies: dict[tuple[bool, bool], bytes] = {}
        self._samples = 0
        self._cpu = 0.0

    def body(self, *, openmetrics: bool, gzipped: bool = False) -> bytes:
        with self._lock:
            start = time.thread_time()
            try:
                return self._body(openmetrics, gzipped, start)
            finally:
                self._cpu += time.thread_time() - start

    def _body(self, openmetrics: bool, gzipped: bool, start: float) -> bytes:
        now = time.monotonic()
        if self._reading is None or now - self._read_at >= self.interval:
            self._reading, self._read_at, self._bodies = self.source.read(), now, {}
            self._samples += 1
        body = self._bodies.get((openmetrics, gzipped))
        if body is None:
            plain = self._bodies.get((openmetrics, False))
            if plain is None:
                cost = Cost(self._samples, self._cpu + time.thread_time() - start)
                plain = self.renderer.render(self._reading, cost, openmetrics=openmetrics)
                self._bodies[(openmetrics, False)] = plain
            body = gzip.compress(plain, compresslevel=1, mtime=0) if gzipped else plain
            self._bodies[(openmetrics, gzipped)] = body
        return body


LANDING = b"""<html><head><title>cgscope exporter</title></head><body>
<h1>cgscope exporter</h1><p><a href="/metrics">Metrics</a></p></body></html>
"""


def app(exporter: Exporter) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI application: /metrics, / (a link to it) and /healthz (answers without reading the host,
    for liveness probes)."""

    def respond(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if method != "GET":
            return _plain(start_response, "405 Method Not Allowed", f"{method}: only GET is served\n")
        if path == "/metrics":
            return _metrics(exporter, environ, start_response)
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [LANDING]
        if path == "/healthz":
            return _plain(start_response, "200 OK", "ok\n")
        return _plain(start_response, "404 Not Found", "no such page: the metrics are at /metrics\n")

    return respond


def _metrics(exporter: Exporter, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    _, content_type = choose_encoder(environ.get("HTTP_ACCEPT", ""))
    openmetrics = content_type.startswith("application/openmetrics-text")
    gzipped = gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", ""))
    try:
        body = exporter.body(openmetrics=openmetrics, gzipped=gzipped)
    except Exception as exc:  # a refresh that fails (a malformed kernel file) fails this scrape only
        print(f"cgscope export: reading the host failed: {exc}", file=sys.stderr)
        return _plain(start_response, "500 Internal Server Error", f"reading the host failed: {exc}\n")
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
    start_response("200 OK", headers)
    return [body]


def _plain(start_response: StartResponse, status: str, text: str) -> Iterable[bytes]:
    body = text.encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    start_response(status, headers)
    return [body]


class _Handler(WSGIRequestHandler):
    timeout = TIMEOUT  # seconds one read or write of the connection may block

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged."""


class Server(ThreadingMixIn, WSGIServer):
    """A thread per connection, MAX_CONNECTIONS at most; the next ones are answered 503 at once."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[_Handler]) -> None:
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            _refuse(request)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _refuse(request: socket.socket) -> None:
    """503 without reading the request (what came already is drained, so that closing does not reset
    the connection before the client reads the answer)."""
    body = b"too many connections: try again\n"
    head = (
        "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 1\r\n"
        f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with suppress(OSError):
        request.settimeout(1.0)
        with suppress(BlockingIOError):
            request.recv(65536, socket.MSG_DONTWAIT)
        request.sendall(head.encode() + body)


def serve(exporter: Exporter, host: str, port: int) -> Server:
    """A server bound to (host, port), IPv4 or IPv6 as the address is; serve_forever() runs it."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]

    class Bound(Server):
        address_family = family

    server = make_server(host, port, app(exporter), Bound, handler_class=_Handler)
    assert isinstance(server, Server)
    return server
