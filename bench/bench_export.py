"""Benchmark `cgscope export` beside `prometheus-node-exporter`, each scraped every second for 60 s.

Over a synthetic load (load.py: N processes in M cgroups, each one a bare container by default), both
exporters run on loopback and are scraped in turn, as a Prometheus server scrapes (its Accept header,
gzip). The figures are each exporter's CPU seconds per scrape (utime + stime of its process, from
/proc/PID/stat, over the measured period) and its resident memory (VmRSS at the end, VmHWM the peak).
node_exporter is a Go host-only exporter: the cheapest well-known peer, with no per-container series.
Goals tracked by the project: cgscope <= 10 ms of CPU per scrape at 200 containers, RSS <= 80 MiB, and
<= 2x node_exporter's CPU per scrape.

`--baseline DIR` also runs the `cgscope export` of another source tree (a checkout of an earlier
commit), scraped in turn with the others: a change measured against what it changes, on the same load
at the same time (the machine's other work moves both alike).

Needs root and Debian's prometheus-node-exporter. `python bench/bench_export.py --help` for options.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import COMMAND_ENV, Background, console_script, finish, log, machine, stop_on_signals
from load import Load, LoadError, find_hierarchies, pid_capacity

ACCEPT = (  # Prometheus 2.42's
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
GOAL_MS, GOAL_RSS_MIB, GOAL_RATIO = 10.0, 80.0, 2.0


@dataclass
class Figures:
    name: str
    scrapes: int
    cpu_ms_per_scrape: float
    rss_mib: float
    peak_rss_mib: float
    body_kib: float  # one scrape's body, uncompressed
    series: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def scrape(port: int) -> bytes:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Accept": ACCEPT, "Accept-Encoding": "gzip"}
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        data: bytes = r.read()
        return gzip.decompress(data) if r.headers.get("Content-Encoding") == "gzip" else data


class Exporter:
    """An exporter process on a loopback port, stopped by its pid."""

    def __init__(self, name: str, argv: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.name, self.port = name, port
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env or COMMAND_ENV,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                scrape(port)
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise LoadError(f"{name} did not answer on 127.0.0.1:{port}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def measure(exporters: Sequence[Exporter], seconds: float, period: float) -> list[Figures]:
    """Scrape each in turn every `period` s for `seconds` s; CPU of each over the whole period."""
    before = {e.name: cpu_seconds(e.proc.pid) for e in exporters}
    counts = dict.fromkeys(before, 0)
    sizes: dict[str, bytes] = {}
    start = time.monotonic()
    tick = start
    while tick - start < seconds:
        for e in exporters:
            sizes[e.name] = scrape(e.port)
            counts[e.name] += 1
        tick += period
        time.sleep(max(0.0, tick - time.monotonic()))
    out = []
    for e in exporters:
        used = cpu_seconds(e.proc.pid) - before[e.name]
        body = sizes[e.name]
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        out.append(
            Figures(
                e.name,
                counts[e.name],
                used / counts[e.name] * 1000,
                memory_mib(e.proc.pid, "VmRSS"),
                memory_mib(e.proc.pid, "VmHWM"),
                len(body) / 1024,
                series,
            )
        )
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    node_exporter = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    cgscope = console_script()
    if node_exporter is None or cgscope is None:
        raise LoadError("needs prometheus-node-exporter (Debian package) and the cgscope console script")
    args_shown = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}  # --baseline: JSON
    report: dict[str, Any] = {"machine": machine(), "args": args_shown}
    log(f"{args.processes} processes in {args.containers} cgroups ({args.ns_fraction:.0%} bare containers)")
    hierarchies = find_hierarchies(v1=not args.no_v1)
    with (
        pid_capacity(args.processes, log),
        Load(args.processes, args.containers, args.ns_fraction, hierarchies, log=log) as load,
    ):
        report["containers"] = len(load.namespaced_groups())
        ports = free_port(), free_port()
        exporters = []
        try:
            if args.baseline is not None:
                exporters.append(baseline(args.baseline))
            exporters.append(
                Exporter("cgscope export", [cgscope, "export", "--listen", f"127.0.0.1:{ports[0]}"], ports[0])
            )
            exporters.append(
                Exporter(
                    "node_exporter", [node_exporter, f"--web.listen-address=127.0.0.1:{ports[1]}"], ports[1]
                )
            )
            listed = len(re.findall(rb'^cgscope_container_info\{.*runtime="bare"', scrape(ports[0]), re.M))
            if listed < report["containers"]:
                raise LoadError(
                    f"cgscope export lists {listed} of the load's {report['containers']} containers"
                )
            report["listed_bare_containers"] = listed
            log(f"warm-up {args.warmup:g} s, then {args.seconds:g} s of scrapes every {args.period:g} s")
            measure(exporters, args.warmup, args.period)
            with Background.meter() as background:
                figures = measure(exporters, args.seconds, args.period)
            report["other_cpus"] = round(background.other_cpus, 3)
            report["exporters"] = [asdict(f) for f in figures]
        finally:
            for e in exporters:
                e.stop()
    return report


def baseline(tree: Path) -> Exporter:
    """`cgscope export` of the source tree `tree`, imported ahead of the installed one (PYTHONPATH)."""
    if not (tree / "cgscope" / "export").is_dir():
        raise LoadError(f"--baseline {tree}: no cgscope/export there (give a source tree of cgscope)")
    port = free_port()
    env = {**COMMAND_ENV, "PYTHONPATH": str(tree.resolve())}
    # -P: the working directory is not put first on sys.path, where a cgscope there would win
    argv = [sys.executable, "-P", "-m", "cgscope", "export", "--listen", f"127.0.0.1:{port}"]
    return Exporter(f"baseline {tree.name}"[:16], argv, port, env)


def print_report(report: dict[str, Any]) -> None:
    print(f"machine: {report['machine']}; other work on the machine: {report['other_cpus']} CPUs")
    print(f"load: {report['args']['processes']} processes, {report['containers']} containers")
    print(f"{'exporter':<16} {'scrapes':>7} {'CPU ms/scrape':>14} {'RSS MiB':>8} {'peak MiB':>9} "
          f"{'series':>7} {'body KiB':>9}")  # fmt: skip
    rows = {f["name"]: f for f in report["exporters"]}
    for f in rows.values():
        print(f"{f['name']:<16} {f['scrapes']:>7} {f['cpu_ms_per_scrape']:>14.2f} {f['rss_mib']:>8.1f} "
              f"{f['peak_rss_mib']:>9.1f} {f['series']:>7} {f['body_kib']:>9.0f}")  # fmt: skip
    ours, peer = rows["cgscope export"], rows["node_exporter"]
    ratio = (
        ours["cpu_ms_per_scrape"] / peer["cpu_ms_per_scrape"] if peer["cpu_ms_per_scrape"] else float("inf")
    )
    print(
        f"cgscope/node_exporter CPU per scrape: {ratio:.2f}x (goal <= {GOAL_RATIO:g}x); "
        f"cgscope {ours['cpu_ms_per_scrape']:.1f} ms (goal <= {GOAL_MS:g}), peak RSS "
        f"{ours['peak_rss_mib']:.0f} MiB (goal <= {GOAL_RSS_MIB:g})"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--processes", type=int, default=2000, help="processes in the load (default 2000)")
    p.add_argument("--containers", type=int, default=200, help="cgroups in the load (default 200)")
    p.add_argument("--ns-fraction", type=float, default=1.0,
                   help="share of the cgroups that are bare containers (default 1.0: all)")  # fmt: skip
    p.add_argument("--seconds", type=float, default=60.0, help="measured period (default 60)")
    p.add_argument("--warmup", type=float, default=5.0, help="scrapes before measuring, seconds (default 5)")
    p.add_argument("--period", type=float, default=1.0, help="seconds between scrapes (default 1)")
    p.add_argument("--no-v1", action="store_true", help="make the load's cgroups in the cgroup2 tree only")
    p.add_argument("--baseline", type=Path, metavar="DIR",
                   help="also measure the cgscope export of this source tree (an older commit)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("needs root (the load makes cgroups; the exporter reads every process)")
        return 1
    stop_on_signals()
    return finish(lambda: run(args), args.json, print_report)


if __name__ == "__main__":
    sys.exit(main())
