"""The exporter's HTTP side against good and bad clients, on loopback: content negotiation, gzip, pages
that do not exist, huge headers, 100 concurrent scrapes, a client that stops reading, one that sends
nothing, a reading that fails; and the minimum interval shared by scrapes."""

from __future__ import annotations

import gzip
import http.client
import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from exporthosts import HOSTS, series, value

from cgscope.cli import main
from cgscope.export import server
from cgscope.export.server import Exporter, serve
from cgscope.export.source import Labels, Reading, Source
from cgscope.fs.hostroot import HostRoot

PROMETHEUS_ACCEPT = (  # what Prometheus 2.42 sends
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


class Big:
    """A source of a large reading (3,000 cgroups, ~10 MB of text), or of a failure."""

    def __init__(self, reading: Reading) -> None:
        (labels, figures), *_ = reading.cgroups
        rows = tuple((replace(labels, id=f"/big/{i:04}"), figures) for i in range(3000))
        self.reading, self.fail = replace(reading, cgroups=rows), False

    def read(self) -> Reading:
        if self.fail:
            raise ValueError("memory.stat of /x: unexpected line 'foo'")
        return self.reading


@pytest.fixture
def source(tmp_path: Path) -> Source:
    return Source(HostRoot.at(HOSTS["v2"](tmp_path).root))


@contextmanager
def running(exporter: Exporter) -> Iterator[tuple[str, int]]:
    httpd = serve(exporter, "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def address(source: Source) -> Iterator[tuple[str, int]]:
    with running(Exporter(source, 0.5)) as where:
        yield where


def get(address: tuple[str, int], path: str = "/metrics", **headers: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(*address, timeout=10)
    conn.request("GET", path, headers={k.replace("_", "-"): v for k, v in headers.items()})
    response = conn.getresponse()
    response.read()
    return response


def body(address: tuple[str, int], **headers: str) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection(*address, timeout=10)
    conn.request("GET", "/metrics", headers={k.replace("_", "-"): v for k, v in headers.items()})
    response = conn.getresponse()
    return response, response.read()


def test_content_negotiation(address: tuple[str, int]) -> None:
    response, data = body(address, Accept=PROMETHEUS_ACCEPT)
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("application/openmetrics-text; version=1.0.0")
    assert data.endswith(b"# EOF\n") and b"# TYPE container_cpu_usage_seconds counter\n" in data
    response, data = body(address)
    assert response.getheader("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
    assert b"# TYPE container_cpu_usage_seconds_total counter\n" in data and b"# EOF" not in data


def test_gzip_when_accepted(address: tuple[str, int]) -> None:
    _, plain = body(address)
    response, packed = body(address, Accept_Encoding="gzip")
    assert response.getheader("Content-Encoding") == "gzip"
    assert series(gzip.decompress(packed).decode()).keys() == series(plain.decode()).keys()


def test_other_pages(address: tuple[str, int]) -> None:
    missing = get(address, "/nosuch")
    assert missing.status == 404
    assert get(address, "/healthz").status == 200 and get(address, "/").status == 200
    conn = http.client.HTTPConnection(*address, timeout=10)
    conn.request("POST", "/metrics", body=b"x")
    assert conn.getresponse().status == 405


def raw(address: tuple[str, int], request: bytes) -> bytes:
    with socket.create_connection(address, timeout=10) as s:
        s.sendall(request)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_huge_request_line_and_headers_are_refused(address: tuple[str, int]) -> None:
    assert raw(address, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.0 414")
    assert raw(address, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n").startswith(
        b"HTTP/1.0 431"
    )
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(200))
    assert raw(address, b"GET /metrics HTTP/1.1\r\n" + many + b"\r\n").startswith(b"HTTP/1.0 431")
    assert get(address).status == 200  # and it serves on


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_100_concurrent_scrapes_are_answered_or_refused(source: Source) -> None:
    big = Big(source.read())
    with running(Exporter(big, 0.5)) as address:  # type: ignore[arg-type]
        get(address)  # the body is rendered once
        before = rss_kib()
        statuses: list[int] = []
        barrier = threading.Barrier(100)

        def scrape() -> None:
            barrier.wait()
            try:
                statuses.append(body(address)[0].status)
            except OSError:
                statuses.append(-1)

        threads = [threading.Thread(target=scrape) for _ in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(statuses) == 100 and set(statuses) <= {200, 503}, statuses
        assert statuses.count(200) >= server.MAX_CONNECTIONS // 2
        # one body shared by every scrape: what grows is the clients' copies, not the server's
        assert rss_kib() - before < 100 * 11 * 1024 + 64 * 1024


def test_a_client_that_stops_reading_blocks_no_other_scrape(
    source: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server._Handler, "timeout", 2.0)
    big = Big(source.read())
    with running(Exporter(big, 0.5)) as address:  # type: ignore[arg-type]
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(address)
        stalled.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")  # and reads nothing
        silent = socket.create_connection(address)  # sends nothing at all
        time.sleep(0.5)
        start = time.monotonic()
        response, data = body(address)
        assert response.status == 200 and len(data) > 5_000_000
        assert time.monotonic() - start < 5
        time.sleep(3)  # past the handler's timeout: both were dropped
        silent.settimeout(5)
        assert silent.recv(1024) == b""
        stalled.settimeout(5)
        received = 0
        with pytest.raises(ConnectionResetError):
            while chunk := stalled.recv(1 << 20):
                received += len(chunk)
            raise ConnectionResetError  # closed before the whole body came
        assert received < len(data)
        stalled.close()
        silent.close()


def test_scrapes_within_the_interval_share_one_reading(source: Source) -> None:
    with running(Exporter(source, 0.8)) as address:
        first = value(series(body(address)[1].decode()), "cgscope_samples_total")
        second = value(series(body(address)[1].decode()), "cgscope_samples_total")
        time.sleep(0.9)
        third = value(series(body(address)[1].decode()), "cgscope_samples_total")
        assert (first, second, third) == (1, 1, 2)


def test_a_failed_reading_fails_that_scrape_only(source: Source, capsys: pytest.CaptureFixture[str]) -> None:
    flaky = Big(source.read())
    with running(Exporter(flaky, 0.0)) as address:  # type: ignore[arg-type]
        flaky.fail = True
        response, data = body(address)
        assert (
            response.status == 500
            and data == b"reading the host failed: memory.stat of /x: unexpected line 'foo'\n"
        )
        flaky.fail = False
        assert body(address)[0].status == 200
    assert capsys.readouterr().err.count("\n") == 1


def test_listen_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(HOSTS["v2"](tmp_path).root)
    assert main(["--root", root, "export", "--listen", "localhost"]) == 2
    assert "'localhost' is not ADDR:PORT" in capsys.readouterr().err
    assert main(["--root", root, "export", "--listen", "127.0.0.1:70000"]) == 2
    assert "'127.0.0.1:70000' is not ADDR:PORT" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--root", root, "export", "--listen", f"127.0.0.1:{port}"], out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith(f"cgscope: cannot listen on 127.0.0.1:{port}: Address already in use")
        and err.count("\n") == 1
    )


def test_labels_are_one_per_cgroup(source: Source) -> None:
    ids = [labels.id for labels, _ in source.read().cgroups]
    assert len(ids) == len(set(ids)) and Labels("/").id not in ids
