"""Benchmark `cgscope containers --json` against `ps` and `lsns` under a synthetic process load.

For each size N the script builds a load (see load.py), runs every command R times (interleaved)
and prints the median CPU time (user + sys of the child, from wait4) and wall time of each, with the
ratio of its CPU time to ps's. Needs root. Run `python bench/bench_cli.py --help` for the options.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import (
    Load,
    LoadError,
    find_hierarchies,
    mem_available_kib,
    pid_capacity,
    remove_stale,
    task_count,
)
from node import node_layout

PS_ARGS = ["ps", "-e", "-o", "pid,ppid,user,pcpu,rss,cgroup,comm"]
GOAL_RATIO = {2000: 0.8, 10000: 0.5}  # cgscope CPU time <= this many times ps's, at N processes


def goal_ratio(n: int) -> float:
    """The goal at N processes: that of the largest tracked size at or below N (below all: the first)."""
    return GOAL_RATIO[max((k for k in GOAL_RATIO if k <= n), default=min(GOAL_RATIO))]


BUSY_WARNING = 0.2  # CPUs used by other work during a measurement worth a warning


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class CommandFailed(RuntimeError):
    """A measured command exited non-zero, timed out, or printed something unexpected."""


@dataclass(frozen=True)
class Command:
    label: str
    argv: list[str]
    is_cgscope: bool = False


@dataclass
class Result:
    command: str
    argv: list[str]
    cpu_ms: float | None = None  # median
    wall_ms: float | None = None  # median
    ratio_cpu_vs_ps: float | None = None
    runs_cpu_ms: list[float] = field(default_factory=list)
    runs_wall_ms: list[float] = field(default_factory=list)
    error: str | None = None


# Commands run as a user's would: an installed package has its bytecode compiled, so let the warm-up
# run write it even where the environment says not to (compiling 20 modules costs ~10 ms a run).
COMMAND_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_measured(argv: Sequence[str], timeout: float) -> tuple[float, float]:
    """Run argv with stdout to /dev/null; return (cpu seconds of the child, wall seconds)."""
    exe = shutil.which(argv[0])
    if exe is None:
        raise CommandFailed(f"{argv[0]}: not found")
    with tempfile.TemporaryFile() as err:
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
        ]
        start = time.perf_counter()
        pid = os.posix_spawn(exe, list(argv), COMMAND_ENV, file_actions=actions)
        pidfd = os.pidfd_open(pid)
        try:
            ready, _, _ = select.select([pidfd], [], [], timeout)
            if not ready:
                os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
        except BaseException:  # interrupted: do not leave the command running
            os.kill(pid, signal.SIGKILL)
            os.wait4(pid, 0)
            raise
        finally:
            os.close(pidfd)
        wall = time.perf_counter() - start
        if not ready:
            raise CommandFailed(f"{' '.join(argv)}: timed out after {timeout:.0f} s")
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-1:] or ["no stderr"]
            raise CommandFailed(f"exit status {code}: {tail[0]}")
    return usage.ru_utime + usage.ru_stime, wall


def _busy_cpu_seconds() -> float:
    """CPU time the whole machine spent not idle (user, nice, system, irq, softirq, steal), in seconds."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
    return busy / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class Background:
    """How busy the rest of the machine was while the bench measured (other work inflates wall times)."""

    wall_s: float = 0.0
    other_cpus: float = 0.0  # average CPUs used by processes other than the bench and what it ran

    @classmethod
    @contextlib.contextmanager
    def meter(cls) -> Iterator[Background]:
        bg = cls()
        wall, busy, own = time.perf_counter(), _busy_cpu_seconds(), _own_cpu_seconds()
        yield bg
        bg.wall_s = time.perf_counter() - wall
        other = (_busy_cpu_seconds() - busy) - (_own_cpu_seconds() - own)
        bg.other_cpus = max(0.0, other) / bg.wall_s if bg.wall_s > 0 else 0.0


def measure(commands: Sequence[Command], repeat: int, timeout: float) -> list[Result]:
    """Run every command `repeat` times, interleaved so drift hits all of them alike."""
    results = {c.label: Result(c.label, c.argv) for c in commands}
    for _ in range(repeat):
        for c in commands:
            r = results[c.label]
            if r.error is not None:
                continue
            try:
                cpu, wall = run_measured(c.argv, timeout)
            except CommandFailed as e:
                r.error = str(e)
                continue
            r.runs_cpu_ms.append(cpu * 1000)
            r.runs_wall_ms.append(wall * 1000)
    for r in results.values():
        if r.runs_cpu_ms and r.error is None:
            r.cpu_ms = statistics.median(r.runs_cpu_ms)
            r.wall_ms = statistics.median(r.runs_wall_ms)
    ps = results.get("ps")
    if ps is not None and ps.cpu_ms:
        for r in results.values():
            if r.cpu_ms is not None:
                r.ratio_cpu_vs_ps = r.cpu_ms / ps.cpu_ms
    return list(results.values())


def check_containers(argv: Sequence[str], load: Load, timeout: float) -> dict[str, Any]:
    """Run `cgscope containers --json` once: exit 0, valid JSON, and the bench's bare containers listed."""
    proc = subprocess.run(list(argv), capture_output=True, timeout=timeout, check=False, env=COMMAND_ENV)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no stderr"]
        raise CommandFailed(f"exit status {proc.returncode}: {tail[0]}")
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise CommandFailed(f"output is not JSON: {e}") from e
    containers = doc.get("containers") if isinstance(doc, dict) else None
    if not isinstance(containers, list):
        raise CommandFailed("no 'containers' list in the output")
    bare = [c for c in containers if isinstance(c, dict) and c.get("runtime") == "bare"]
    listed = bare if load.layout is None else [c for c in containers if isinstance(c, dict)]
    groups = load.namespaced_groups()
    found = 0
    for g in groups:
        members = load.group_pids(g)
        if any(c.get("init_pid") in members for c in listed):
            found += 1
    check = {
        "containers": len(containers),
        "bare": len(bare),
        "bench_namespaced_expected": len(groups),
        "bench_namespaced_found": found,
        "output_bytes": len(proc.stdout),
    }
    if found != len(groups):
        raise CommandFailed(f"lists {found} of the bench's {len(groups)} namespaced groups ({check})")
    return check


def load_for(n: int, args: argparse.Namespace) -> Load:
    """The load of N processes: --profile flat (N over --groups cgroups, a fraction namespaced: bare
    containers) or node (bench/node.py: a Kubernetes node's pods, bare containers and services)."""
    hierarchies = find_hierarchies(v1=not args.no_v1)
    if args.profile == "node":
        layout = node_layout(n)
        return Load(n, len(layout), 0.0, hierarchies, log=log, layout=layout)
    return Load(n, args.groups, args.ns_fraction, hierarchies, log=log)


def console_script() -> str | None:
    """The `cgscope` entry point of this interpreter's environment (not a version-manager shim)."""
    beside = Path(sys.executable).parent / "cgscope"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("cgscope")


def commands(python: str) -> list[Command]:
    cmds = [Command("cgscope -m", [python, "-m", "cgscope", "containers", "--json"], is_cgscope=True)]
    script = console_script()
    if script is not None:
        cmds.append(Command("cgscope script", [script, "containers", "--json"], is_cgscope=True))
    cmds += [Command("ps", PS_ARGS), Command("lsns", ["lsns"])]
    return cmds


def bench_size(n: int, args: argparse.Namespace, python: str) -> dict[str, Any]:
    mem_before = mem_available_kib()
    load = load_for(n, args)
    out: dict[str, Any] = {"n": n, "profile": args.profile, "groups": len(load.members)}
    log(f"N={n}: building {len(load.members)} groups ({len(load.namespaced_groups())} namespaced)")
    with pid_capacity(n, log), load:
        out["cgroup"] = f"/{load.name}"
        out["hierarchies"] = [str(h.mountpoint) for h in load.hierarchies]
        out["namespaced_groups"] = len(load.namespaced_groups())
        out["build_s"] = round(load.build_seconds, 3)
        out["load_mem_mib"] = round((mem_before - mem_available_kib()) / 1024, 1)
        out["tasks_on_host"] = task_count()
        log(
            f"N={n}: built in {load.build_seconds:.2f} s, {out['load_mem_mib']} MiB, "
            f"{out['tasks_on_host']} tasks on the host"
        )
        cmds = commands(python)
        checks: dict[str, Any] = {}
        runnable: list[Command] = []
        for c in cmds:  # one warm-up run each; it is also the correctness check
            try:
                if c.is_cgscope:
                    checks[c.label] = check_containers(c.argv, load, args.timeout)
                else:
                    run_measured(c.argv, args.timeout)
                runnable.append(c)
            except (CommandFailed, subprocess.TimeoutExpired) as e:
                checks[c.label] = {"error": str(e)}
                log(f"N={n}: {c.label}: {e}")
        with Background.meter() as bg:
            results = measure(runnable, args.repeat, args.timeout)
        out["background_cpus"] = round(bg.other_cpus, 2)
        if bg.other_cpus > BUSY_WARNING:
            log(f"N={n}: other work used {bg.other_cpus:.2f} CPUs meanwhile: wall times are inflated")
        results += [
            Result(c.label, c.argv, error=checks[c.label]["error"]) for c in cmds if c not in runnable
        ]
        out["checks"] = checks
        out["results"] = [asdict(r) for r in results]
    out["teardown_s"] = round(load.teardown_seconds, 3)
    log(f"N={n}: torn down in {load.teardown_seconds:.2f} s")
    return out


def fmt(value: float | None, spec: str) -> str:
    """Format a figure, or a dash (padded to the same width) when there is none."""
    width = "".join(ch for ch in spec.split(".", maxsplit=1)[0] if ch.isdigit())
    return format("-", f">{width or 1}") if value is None else format(value, spec)


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(
        f"kernel {m['kernel']}, {m['cpus']} CPUs, Python {m['python']}, repeat {report['repeat']} "
        f"(median), cgroups: {', '.join(m['hierarchies'])}"
    )
    print("\nPython start-up baseline (no load)")
    print(f"  {'command':<34} {'cpu ms':>9} {'wall ms':>9}")
    for r in report["baseline"]:
        err = f"  ({r['error']})" if r["error"] else ""
        print(f"  {r['command']:<34} {fmt(r['cpu_ms'], '9.1f')} {fmt(r['wall_ms'], '9.1f')}{err}")
    for s in report["sizes"]:
        print(
            f"\nN={s['n']}: {s['groups']} groups ({s['namespaced_groups']} namespaced) in {s['cgroup']}, "
            f"{s['tasks_on_host']} tasks on the host; built {s['build_s']:.2f} s, "
            f"torn down {s['teardown_s']:.2f} s, ~{s['load_mem_mib']:.0f} MiB; "
            f"other work on the machine meanwhile: {s['background_cpus']:.2f} CPUs"
        )
        print(f"  {'N':>6} {'command':<16} {'cpu ms':>9} {'wall ms':>9} {'cpu/ps':>7}")
        for r in s["results"]:
            line = (
                f"  {s['n']:>6} {r['command']:<16} {fmt(r['cpu_ms'], '9.1f')} "
                f"{fmt(r['wall_ms'], '9.1f')} {fmt(r['ratio_cpu_vs_ps'], '7.2f')}"
            )
            print(line + (f"  error: {r['error']}" if r["error"] else ""))
    print("\nGoal: cgscope CPU <= " + ", ".join(f"{r:g}x ps at {n:,}" for n, r in GOAL_RATIO.items()))
    for s in report["sizes"]:
        goal = goal_ratio(s["n"])
        for r in s["results"]:
            if r["command"].startswith("cgscope"):
                ratio = r["ratio_cpu_vs_ps"]
                verdict = "n/a" if ratio is None else ("met" if ratio <= goal else "missed")
                shown = "-" if ratio is None else f"{ratio:.2f}x"
                print(f"  N={s['n']:<6} {r['command']:<16} {shown:>7}  {verdict}")


def counts(text: str) -> list[int]:
    """ "2000,10000" -> [2000, 10000]"""
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers separated by commas") from None


def add_load_options(p: argparse.ArgumentParser) -> None:
    """The options every load benchmark shares: the load's shape, the cgroups it makes, the output."""
    p.add_argument(
        "--sizes",
        type=counts,
        default=[2000, 10000],
        help="process counts, comma-separated (default 2000,10000)",
    )
    p.add_argument(
        "--profile",
        choices=("flat", "node"),
        default="flat",
        help="flat: N processes over --groups cgroups; node: a Kubernetes node (bench/node.py)",
    )
    p.add_argument("--groups", type=int, default=50, help="cgroups per load (default 50; flat profile)")
    p.add_argument(
        "--ns-fraction",
        type=float,
        default=0.1,
        help="fraction of groups in their own namespaces (default 0.1)",
    )
    p.add_argument("--no-v1", action="store_true", help="create cgroups in the cgroup2 tree only")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_load_options(p)
    p.add_argument("--repeat", type=int, default=5, help="runs per command, median reported (default 5)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per command run")
    p.add_argument(
        "--cleanup-stale",
        action="store_true",
        help="remove cgscope-bench-* cgroups left by a killed run (killing their members) and exit",
    )
    args = p.parse_args(argv)
    if args.repeat < 1 or not args.sizes or not 0 <= args.ns_fraction <= 1:
        p.error("need --repeat >= 1, at least one size and 0 <= --ns-fraction <= 1")
    return args


def _raise_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def stop_on_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP unwind through the finally blocks that remove the load."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) != signal.SIG_IGN:  # respect nohup and background jobs
            signal.signal(sig, _raise_on_signal)


def machine() -> dict[str, Any]:
    return {"kernel": platform.release(), "cpus": os.cpu_count(), "python": platform.python_version()}


def finish(
    build: Callable[[], dict[str, Any]],
    as_json: bool,
    printer: Callable[[dict[str, Any]], None],
    failures: tuple[type[Exception], ...] = (LoadError,),
) -> int:
    """Build the report and print it (JSON for scripts); the exit status of a bench script."""
    try:
        report = build()
    except failures as e:
        log(f"failed: {e}")
        return 1
    except KeyboardInterrupt as e:
        log(f"interrupted ({e or 'SIGINT'}); the load was removed")
        return 130
    if as_json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        printer(report)
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    python = sys.executable
    hierarchies = find_hierarchies(v1=not args.no_v1)
    report: dict[str, Any] = {
        "machine": {**machine(), "hierarchies": [f"{h.name}={h.mountpoint}" for h in hierarchies]},
        "repeat": args.repeat,
        "goal_cpu_ratio_vs_ps": {str(n): r for n, r in GOAL_RATIO.items()},
    }
    baseline = [
        Command("python -c pass", [python, "-c", "pass"]),
        Command("python -c 'import cgscope.cli'", [python, "-c", "import cgscope.cli"]),
    ]
    log("Python start-up baseline")
    report["baseline"] = [asdict(r) for r in measure(baseline, args.repeat, args.timeout)]
    report["sizes"] = [bench_size(n, args, python) for n in args.sizes]
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("needs root (creates cgroups and namespaces)")
        return 2
    stop_on_signals()
    if args.cleanup_stale:
        log(f"{remove_stale(find_hierarchies(), log)} stale bench cgroup(s) removed")
        return 0
    return finish(lambda: run(args), args.json, print_report)


if __name__ == "__main__":
    sys.exit(main())
