"""Benchmark `cgscope top` against `top -b -n 1`, and what one refresh costs as cgroups and processes grow.

Three measurements, each over a synthetic load (load.py) and each command's CPU time (user + sys of the
child, from wait4; median of R interleaved runs):

1. `cgscope top --json -d 0.1 -n 1` (start-up, finding containers, two samples) against `top -b -n 1`, at
   the foundation benchmark's load: N processes in 50 cgroups, a tenth of them bare containers.
2. The cost of one refresh — a sample of every container's cgroup and the host, derived and printed —
   as `(cpu(-n K+1) - cpu(-n 1)) / K`, with a fixed number of processes and more and more cgroups, every
   one a container ...
3. ... and with a fixed number of containers and more and more processes.

Then the least-squares slopes of 2 and 3: what one more container, and one more process, add to a
refresh. The goals tracked by the project: <= 150 us per container (50 to 400 containers at 2,000
processes) and <= 2 us per process (2,000 to 10,000 processes at 200 containers), the defaults.

Needs root. Run `python bench/bench_top.py --help` for the options.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import (
    COMMAND_ENV,
    Background,
    Command,
    CommandFailed,
    add_load_options,
    counts,
    finish,
    fmt,
    log,
    machine,
    measure,
    run_measured,
    stop_on_signals,
)
from load import Load, LoadError, find_hierarchies, pid_capacity, remove_stale, task_count

TOP_ARGS = ["top", "-b", "-n", "1"]


def cgscope_top(python: str, refreshes: int) -> list[str]:
    return [python, "-m", "cgscope", "top", "--json", "-d", "0.1", "-n", str(refreshes)]


def check_top(argv: Sequence[str], load: Load, timeout: float) -> dict[str, Any]:
    """Run `cgscope top --json` once: exit 0, one JSON object per refresh, every container of the load."""
    proc = subprocess.run(list(argv), capture_output=True, timeout=timeout, check=False, env=COMMAND_ENV)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no stderr"]
        raise CommandFailed(f"exit status {proc.returncode}: {tail[0]}")
    try:
        frames = [json.loads(line) for line in proc.stdout.splitlines()]
    except json.JSONDecodeError as e:
        raise CommandFailed(f"output is not JSON lines: {e}") from e
    shown = {path for c in frames[-1]["containers"] for path in c["cgroup"].values()}
    expected = {load.group_path(g) for g in load.namespaced_groups()}
    if not expected <= shown:
        raise CommandFailed(f"lists {len(expected & shown)} of the load's {len(expected)} containers")
    return {"refreshes": len(frames), "containers": len(frames[-1]["containers"])}


def point(n: int, groups: int, ns_fraction: float, args: argparse.Namespace, python: str) -> dict[str, Any]:
    """Build a load of n processes in `groups` cgroups and measure the three commands over it."""
    out: dict[str, Any] = {"n": n, "groups": groups}
    log(f"N={n}, {groups} groups ({round(groups * ns_fraction)} containers): building")
    with (
        pid_capacity(n, log),
        Load(n, groups, ns_fraction, find_hierarchies(v1=not args.no_v1), log=log) as load,
    ):
        out["containers"] = len(load.namespaced_groups())
        out["tasks_on_host"] = task_count()
        out["build_s"] = round(load.build_seconds, 2)
        once = Command("cgscope top -n 1", cgscope_top(python, 1), is_cgscope=True)
        many = Command(f"cgscope top -n {args.refreshes + 1}", cgscope_top(python, args.refreshes + 1), True)
        top = Command("top -b -n 1", TOP_ARGS)
        out["check"] = check_top(many.argv, load, args.timeout)  # also the warm-up
        run_measured(top.argv, args.timeout)
        with Background.meter() as bg:
            results = {r.command: r for r in measure([once, many, top], args.repeat, args.timeout)}
        out["background_cpus"] = round(bg.other_cpus, 2)
        for r in results.values():
            if r.error:
                raise CommandFailed(f"{r.command}: {r.error}")
        one_cpu, many_cpu = results[once.label].cpu_ms, results[many.label].cpu_ms
        top_cpu = results[top.label].cpu_ms
        assert one_cpu is not None and many_cpu is not None and top_cpu is not None
        out["cgscope_cpu_ms"] = round(one_cpu, 1)
        out["cgscope_wall_ms"] = round(results[once.label].wall_ms or 0.0, 1)
        out["top_cpu_ms"] = round(top_cpu, 1)
        out["top_wall_ms"] = round(results[top.label].wall_ms or 0.0, 1)
        out["ratio_cpu_vs_top"] = round(one_cpu / top_cpu, 2)
        out["refresh_cpu_ms"] = round((many_cpu - one_cpu) / args.refreshes, 2)
    refresh = out["refresh_cpu_ms"]
    log(f"N={n}, {groups} groups: cgscope {one_cpu:.1f} ms, top {top_cpu:.1f} ms, a refresh {refresh} ms")
    return out


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(
        f"kernel {m['kernel']}, {m['cpus']} CPUs, Python {m['python']}, repeat {report['repeat']} (median), "
        f"a refresh = (cpu(-n {report['refreshes'] + 1}) - cpu(-n 1)) / {report['refreshes']}"
    )
    groups = report["groups"]
    print(f"\n1. One refresh of `cgscope top --json -d 0.1 -n 1` against `top -b -n 1` ({groups} groups)")
    print(f"  {'N':>6} {'containers':>10} {'cgscope ms':>10} {'top ms':>8} {'cpu/top':>7} {'other CPUs':>10}")
    for p in report["comparison"]:
        print(
            f"  {p['n']:>6} {p['containers']:>10} {fmt(p['cgscope_cpu_ms'], '10.1f')}"
            f" {fmt(p['top_cpu_ms'], '8.1f')} {fmt(p['ratio_cpu_vs_top'], '7.2f')}"
            f" {p['background_cpus']:>10.2f}"
        )
    for title, key in (
        (
            f"2. Cost of one refresh: {report['curve_n']} processes, more cgroups (each a container)",
            "by_cgroups",
        ),
        (f"3. Cost of one refresh: {report['curve_groups']} containers, more processes", "by_processes"),
    ):
        print(f"\n{title}")
        print(f"  {'N':>6} {'containers':>10} {'refresh ms':>10} {'us/container':>12} {'one-shot ms':>11}")
        for p in report[key]:
            per = p["refresh_cpu_ms"] * 1000 / p["containers"] if p["containers"] else None
            print(
                f"  {p['n']:>6} {p['containers']:>10} {fmt(p['refresh_cpu_ms'], '10.2f')} {fmt(per, '12.0f')}"
                f" {fmt(p['cgscope_cpu_ms'], '11.1f')}"
            )
    print("\nSlopes of a refresh's cost (least squares over the points above):")
    for key, by, unit, goal in SLOPES:
        points = [(p[by], p["refresh_cpu_ms"] * 1000) for p in report[key]]
        us = slope(points)
        verdict = "" if us is None else f"  (goal <= {goal:g} us: {'met' if us <= goal else 'missed'})"
        print(f"  per {unit}: {fmt(us, '.2f')} us{verdict}")


# The goals tracked by the project: what one more container, or one more process, adds to a refresh.
SLOPES = (("by_cgroups", "containers", "container", 150.0), ("by_processes", "n", "process", 2.0))


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """The least-squares slope of y over x; None with fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_load_options(p)  # --sizes, --groups, --ns-fraction: the comparison's load
    p.add_argument("--curve-n", type=int, default=2000, help="processes while cgroups vary (2000)")
    p.add_argument("--curve-cgroups", type=counts, default=[50, 100, 200, 400], help="(50,100,200,400)")
    p.add_argument("--curve-groups", type=int, default=200, help="containers while processes vary (200)")
    p.add_argument("--curve-sizes", type=counts, default=[2000, 10000], help="(2000,10000)")
    p.add_argument("--refreshes", type=int, default=10, help="K: extra refreshes timed (10)")
    p.add_argument("--repeat", type=int, default=5, help="runs per command, median reported (5)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per command run")
    p.add_argument(
        "--cleanup-stale", action="store_true", help="remove a killed run's cgscope-bench-* cgroups"
    )
    args = p.parse_args(argv)
    if args.repeat < 1 or args.refreshes < 1:
        p.error("need --repeat >= 1 and --refreshes >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("needs root (creates cgroups and namespaces)")
        return 2
    stop_on_signals()
    if args.cleanup_stale:
        log(f"{remove_stale(find_hierarchies(), log)} stale bench cgroup(s) removed")
        return 0
    python = sys.executable

    def build() -> dict[str, Any]:
        report: dict[str, Any] = {
            "machine": machine(),
            "repeat": args.repeat,
            "refreshes": args.refreshes,
            "groups": args.groups,
            "curve_n": args.curve_n,
            "curve_groups": args.curve_groups,
        }
        report["comparison"] = [point(n, args.groups, args.ns_fraction, args, python) for n in args.sizes]
        report["by_cgroups"] = [point(args.curve_n, g, 1.0, args, python) for g in args.curve_cgroups]
        report["by_processes"] = [point(n, args.curve_groups, 1.0, args, python) for n in args.curve_sizes]
        return report

    return finish(build, args.json, print_report, failures=(LoadError, CommandFailed))


if __name__ == "__main__":
    sys.exit(main())
