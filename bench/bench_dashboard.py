"""Benchmark the dashboard in a real terminal against `top -d 1` and `htop -d 10` under a process load.

For each size N the script builds a load (see load.py), then runs each tool alone in a tmux window for
a warm-up and a measured period, and prints the CPU seconds the tool used per second (user + system of
all its threads, from /proc/PID/stat), for cgscope split between its UI thread (drawing) and the rest
(the worker threads that sample), and its peak resident memory (VmHWM). With --keys it times instead
how long the dashboard takes from a keypress to the redraw that answers it (Enter, 2, 3; first open
and again). Needs root, tmux, top (procps) and htop. Run `python bench/bench_dashboard.py --help`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import add_load_options, console_script, finish, fmt, load_for, log, machine, stop_on_signals
from load import Load, pid_capacity, task_count

# The goals tracked by the project, per view: cgscope's CPU per second at most this many times top's
# (and, for the containers view, at most htop's), and its peak memory at 10,000 processes.
GOAL_CPU_VS_TOP = {"containers": 0.5, "processes": 1.5, "detail": 1.0}  # detail: of 500 processes
GOAL_BELOW_HTOP = {"containers"}
GOAL_RSS_MIB = {"containers": 80.0, "processes": 100.0}  # none for the detail
GOAL_RSS_AT = 10_000
TICKS = os.sysconf("SC_CLK_TCK")
# The tools' environment: a UTF-8 terminal, nothing that sizes it (COLUMNS, LINES) or configures them.
TOOL_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "xterm-256color", "LC_ALL": "C.UTF-8"}


# Keys typed in turn, each followed by the text it shows (awaited) or, where it shows none, a second.
Steps = tuple[tuple[tuple[str, ...], str | None], ...]
DETAIL_OF = "g000"  # the first group of a flat load: namespaced, so a container whose detail opens
VIEWS: dict[str, Steps] = {
    "containers": (),
    "processes": ((("4",), "processes ·"),),
    "detail": (
        (("/",), "filter: type"),
        (("-l", DETAIL_OF), None),
        (("Enter",), None),
        (("Enter",), "Isolation"),
    ),
}


@dataclass(frozen=True)
class Tool:
    label: str
    argv: list[str]
    drawn: str  # text on the screen once it has drawn its first refresh
    steps: Steps = ()  # typed once it has drawn, to open a view


@dataclass
class Result:
    tool: str
    argv: list[str]
    cpu_per_s: float | None = None  # CPU seconds per second over the measured period
    ui_cpu_per_s: float | None = None  # ... of the main thread alone: for cgscope, drawing (not sampling)
    peak_rss_mib: float | None = None  # VmHWM at the end
    rss_mib: float | None = None  # VmRSS at the end
    measured_s: float | None = None
    other_cpus: float | None = None  # CPUs used meanwhile by everything but the tool
    screen_check: str | None = None
    error: str | None = None


def tools(delay: float, view: str) -> list[Tool]:
    script = console_script()
    found: list[Tool] = []
    if script is not None:
        argv = [script, "-d", f"{delay:g}", "--read-only"]
        found.append(Tool(f"cgscope {view}", argv, "containers ·", VIEWS[view]))
    found.append(Tool("top", ["top", "-d", f"{delay:g}"], "Tasks:"))
    found.append(Tool("htop", ["htop", "-d", str(round(delay * 10))], "Tasks:"))
    return found


class Terminal:
    """One tmux server (its socket in a temporary directory, a clean environment) with one window
    running one tool."""

    def __init__(self, width: int = 200, height: int = 50) -> None:
        self.directory = tempfile.TemporaryDirectory(prefix="cgscope-bench-")
        self.socket = str(Path(self.directory.name) / "tmux")
        self.size = (width, height)

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=20,
            env=TOOL_ENV,
        )
        return done.stdout

    def start(self, argv: list[str]) -> int:
        """Run argv in a new window; returns its pid."""
        width, height = self.size
        command = " ".join(argv)
        out = self.tmux(
            "new-session", "-d", "-P", "-F", "#{pane_pid}", "-x", str(width), "-y", str(height), command
        )
        return int(out.strip())

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-S", self.socket, "kill-server"], capture_output=True, check=False, env=TOOL_ENV
        )
        self.directory.cleanup()


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """utime + stime of the whole process (every thread, exited ones too), /proc/PID/stat fields 14 and
    15; of one thread with `thread` (/proc/PID/task/TID/stat)."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    stat = Path(path).read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS): peak and current resident memory."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            found[key] = int(value.split()[0]) / 1024
    return found["VmHWM"], found["VmRSS"]


def busy_seconds() -> float:
    """CPU time the machine spent not idle (user, nice, system, irq, softirq, steal)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / TICKS


def wait_for(probe: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {timeout:.0f} s")
        time.sleep(0.1)


def measure(tool: Tool, seconds: float, warmup: float) -> tuple[Result, str]:
    """Run the tool in a fresh terminal: warm up, then measure for `seconds`; returns the result and the
    last screen."""
    result = Result(tool.label, tool.argv)
    term = Terminal()
    screen = ""
    try:
        pid = term.start(tool.argv)
        wait_for(lambda: tool.drawn in term.screen(), 60, f"{tool.label} screen")
        for keys, shown in tool.steps:
            term.tmux("send-keys", *keys)
            if shown is None:
                time.sleep(1.0)
            else:
                wait_for(lambda text=shown: text in term.screen(), 60, f"{tool.label}: {shown}")
        time.sleep(warmup)
        own = time.process_time()
        start, cpu0, busy0, ui0 = time.monotonic(), cpu_seconds(pid), busy_seconds(), cpu_seconds(pid, pid)
        time.sleep(seconds)
        elapsed, cpu1, busy1 = time.monotonic() - start, cpu_seconds(pid), busy_seconds()
        ui1 = cpu_seconds(pid, pid)
        result.measured_s = round(elapsed, 2)
        result.cpu_per_s = (cpu1 - cpu0) / elapsed
        result.ui_cpu_per_s = (ui1 - ui0) / elapsed
        other = (busy1 - busy0) - (cpu1 - cpu0) - (time.process_time() - own)
        result.other_cpus = round(max(0.0, other) / elapsed, 2)
        result.peak_rss_mib, result.rss_mib = (round(x, 1) for x in memory_mib(pid))
        screen = term.screen()
    except (TimeoutError, subprocess.SubprocessError, OSError, KeyError, ValueError) as e:
        result.error = str(e)
    finally:
        term.close()  # the tool gets SIGHUP with its terminal
    return result, screen


def check_cgscope(screen: str, load: Load) -> str:
    """The dashboard's caption counts the containers: the load's namespaced groups are among them."""
    line = next((x for x in screen.splitlines() if "containers ·" in x), "")
    words = line.split()
    count = int(words[0]) if words and words[0].isdigit() else -1
    expected = len(load.namespaced_groups())
    if count < expected:
        raise ValueError(f"the dashboard lists {count} containers, fewer than the load's {expected}")
    return f"{count} containers listed (the load has {expected} bare ones)"


def bench_size(n: int, args: argparse.Namespace) -> dict[str, Any]:
    load = load_for(n, args)
    out: dict[str, Any] = {"n": n, "profile": args.profile, "groups": len(load.members)}
    log(f"N={n}: building {len(load.members)} groups ({args.profile} profile)")
    with pid_capacity(n, log), load:
        out["tasks_on_host"] = task_count()
        out["build_s"] = round(load.build_seconds, 2)
        results = []
        for tool in tools(args.delay, args.view):
            if shutil.which(tool.argv[0]) is None:
                results.append(Result(tool.label, tool.argv, error=f"{tool.argv[0]}: not found"))
                continue
            log(f"N={n}: {tool.label}: {args.warmup:g} s warm-up, {args.seconds:g} s measured")
            result, screen = measure(tool, args.seconds, args.warmup)
            if tool.label == "cgscope containers" and result.error is None:
                try:
                    result.screen_check = check_cgscope(screen, load)
                except ValueError as e:
                    result.error = str(e)
            results.append(result)
        out["results"] = [asdict(r) for r in results]
    return out


# -- keypress to redraw -------------------------------------------------------------------------------

# (what is typed, text that shows once the answer is drawn): the container on the second row (the first,
# sorted by name, is the host), back, the cgroup tree, back, the namespaces, back; the whole sequence
# twice, so that each view is timed on its first opening and again.
KEYS = (
    ("Down", ""),
    ("Enter", " · init "),
    ("Escape", "containers ·"),
    ("2", "counts: direct/total"),
    ("1", "containers ·"),
    ("3", "as lsns counts them"),
    ("1", "containers ·"),
)
TIMED = {"Enter", "2", "3"}


def key_latencies(delay: float) -> dict[str, list[float]]:
    """Milliseconds from each timed key (sent to tmux) to the first screen that shows its answer,
    polled every few milliseconds; the sequence runs twice (first opening, then again)."""
    script = console_script()
    if script is None:
        raise ValueError("the cgscope console script is not installed")
    term = Terminal()
    out: dict[str, list[float]] = {key: [] for key in TIMED}
    try:
        term.start([script, "-d", f"{delay:g}", "--read-only"])
        wait_for(lambda: "containers ·" in term.screen(), 60, "the dashboard")
        time.sleep(2 * delay)  # two refreshes: the rates are known
        for _ in range(2):
            for key, shown in KEYS:
                before = term.screen()
                start = time.monotonic()
                term.tmux("send-keys", key)
                if not shown:
                    time.sleep(0.2)
                    continue
                wait_for(lambda s=shown, b=before: s in term.screen() and term.screen() != b, 60, shown)
                if key in TIMED:
                    out[key].append(round((time.monotonic() - start) * 1000, 1))
                time.sleep(0.5)
    finally:
        term.close()
    return out


def bench_keys(n: int, args: argparse.Namespace) -> dict[str, Any]:
    load = load_for(n, args)
    log(f"N={n}: building {len(load.members)} groups ({args.profile} profile)")
    with pid_capacity(n, log), load:
        log(f"N={n}: timing Enter, 2 and 3")
        keys = key_latencies(args.delay)
        return {"n": n, "groups": len(load.members), "tasks_on_host": task_count(), "keys": keys}


def print_keys(report: dict[str, Any]) -> None:
    print(f"keypress to redraw, ms (first opening / again); refresh every {report['delay']:g} s")
    for s in report["sizes"]:
        timed = "  ".join(
            f"{key}: {' / '.join(f'{ms:.0f}' for ms in s['keys'][key])}" for key in sorted(TIMED)
        )
        print(f"  N={s['n']} ({s['groups']} groups): {timed}")


def print_report(report: dict[str, Any]) -> None:
    if report.get("keys"):
        print_keys(report)
        return
    m = report["machine"]
    print(
        f"kernel {m['kernel']}, {m['cpus']} CPUs, Python {m['python']}; refresh every {report['delay']:g} s, "
        f"{report['seconds']:g} s measured after {report['warmup']:g} s of warm-up; view {report['view']}"
    )
    for s in report["sizes"]:
        print(f"\nN={s['n']}: {s['groups']} groups, {s['tasks_on_host']} tasks on the host")
        print(f"  {'tool':<20} {'CPU s/s':>8} {'UI thread':>10} {'peak RSS MiB':>13} {'other CPUs':>11}")
        for r in s["results"]:
            ui = r["ui_cpu_per_s"] if r["tool"].startswith("cgscope") else None
            line = (
                f"  {r['tool']:<20} {fmt(r['cpu_per_s'], '8.3f')} {fmt(ui, '10.3f')} "
                f"{fmt(r['peak_rss_mib'], '13.1f')} {fmt(r['other_cpus'], '11.2f')}"
            )
            print(line + (f"  error: {r['error']}" if r["error"] else ""))
    view = report["view"]
    cpu_goal, rss_goal = GOAL_CPU_VS_TOP[view], GOAL_RSS_MIB.get(view)
    htop_goal = " and <= htop's" if view in GOAL_BELOW_HTOP else ""
    rss_said = f", peak RSS <= {rss_goal:.0f} MiB at {GOAL_RSS_AT:,} processes" if rss_goal else ""
    print(f"\nGoal ({view}): cgscope CPU <= {cpu_goal:g}x top's{htop_goal}{rss_said}")
    for s in report["sizes"]:
        by = {r["tool"]: r for r in s["results"]}
        cg, top, htop = by.get(f"cgscope {view}", {}), by.get("top", {}), by.get("htop", {})
        ours = cg.get("cpu_per_s")
        if ours is not None and top.get("cpu_per_s"):
            ratio = ours / top["cpu_per_s"]
            print(f"  N={s['n']:<6} CPU vs top  {ratio:5.2f}x  {'met' if ratio <= cpu_goal else 'missed'}")
        if ours is not None and htop.get("cpu_per_s") and view in GOAL_BELOW_HTOP:
            ratio = ours / htop["cpu_per_s"]
            print(f"  N={s['n']:<6} CPU vs htop {ratio:5.2f}x  {'met' if ratio <= 1.0 else 'missed'}")
        rss = cg.get("peak_rss_mib")
        if rss is not None and rss_goal is not None:
            verdict = "met" if rss <= rss_goal else "missed"
            verdict = verdict if s["n"] >= GOAL_RSS_AT else f"({verdict} here; the goal is at 10,000)"
            print(f"  N={s['n']:<6} peak RSS {rss:6.1f} MiB  {verdict}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_load_options(p)
    p.add_argument(
        "--delay", type=float, default=1.0, help="each tool's refresh interval in seconds (default 1)"
    )
    p.add_argument("--seconds", type=float, default=30.0, help="measured period per tool (default 30)")
    p.add_argument(
        "--warmup", type=float, default=3.0, help="seconds after the first screen before measuring"
    )
    p.add_argument(
        "--view",
        choices=sorted(VIEWS),
        default="containers",
        help="the dashboard's view (default containers); detail: that of the flat load's first group, g000, "
        "a bare container of N/groups processes (--groups 4 --ns-fraction 0.25: 500 of 2,000)",
    )
    p.add_argument(
        "--keys", action="store_true", help="time keypress to redraw (Enter, 2, 3) instead of CPU use"
    )
    args = p.parse_args(argv)
    if not args.sizes or args.seconds <= 0 or args.delay <= 0:
        p.error("need at least one size, --seconds > 0 and --delay > 0")
    if args.view == "detail" and args.profile != "flat":
        p.error(f"--view detail opens the flat load's group {DETAIL_OF}: use it with --profile flat")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("needs root (creates cgroups and namespaces)")
        return 2
    if shutil.which("tmux") is None:
        log("needs tmux (Debian package tmux)")
        return 2
    stop_on_signals()

    def build() -> dict[str, Any]:
        report: dict[str, Any] = {
            "machine": machine(),
            "delay": args.delay,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "view": args.view,
            "keys": args.keys,
        }
        measure_size = bench_keys if args.keys else bench_size
        report["sizes"] = [measure_size(n, args) for n in args.sizes]
        return report

    return finish(build, args.json, print_report)


if __name__ == "__main__":
    sys.exit(main())
