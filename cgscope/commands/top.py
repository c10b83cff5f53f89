"""What containers use against what they may use: `cgscope top`, and what they would see: `procview`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from cgscope.commands import Commands, emit_json
from cgscope.errors import NotFound
from cgscope.fs.hostroot import HostRoot

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cgscope.model.containers import Container, Inventory
    from cgscope.model.derive import ContainerUsage, ProcessUsage, Usage
    from cgscope.model.state import ContainerState

DEFAULT_DELAY = 1.0  # seconds between two samples: rates are over this interval
VIEW_FILES = ("meminfo", "cpuinfo", "stat", "uptime", "loadavg", "swaps", "diskstats", "online")


def register(commands: Commands) -> None:
    top_parser = commands.add(
        "top",
        "what each container uses against what it may use, like top -b (-d: seconds between samples, "
        "default 1)",
        top,
        schema="docs/top.md",
        refreshes=True,
    )
    top_parser.add_argument(
        "target",
        nargs="?",
        metavar="CONTAINER",
        help="also list this container's processes (a name, an id prefix or any member pid)",
    )
    top_parser.add_argument(
        "-n", "--iterations", type=_count, default=1, metavar="N", help="refreshes to print (default 1)"
    )
    view_parser = commands.add(
        "procview",
        "the /proc files a container's processes would read under LXCFS (see docs/top.md)",
        procview,
        schema="docs/top.md",
    )
    view_parser.add_argument(
        "target", metavar="CONTAINER|PID", help="a container (name, id prefix, member pid) or any process"
    )
    view_parser.add_argument(
        "files",
        nargs="*",
        type=_view_file,
        metavar="FILE",
        help=f"any of {', '.join(VIEW_FILES)} (default: all); /proc/meminfo and cpu/online work too",
    )


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of refreshes")
    return int(text)


def _view_file(text: str) -> str:
    """ "meminfo", "/proc/meminfo", "online", "cpu/online", "/sys/devices/system/cpu/online"."""
    name = text.rstrip("/").rsplit("/", 1)[-1]
    if name not in VIEW_FILES:
        raise argparse.ArgumentTypeError(f"no view of {text!r}: choose from {', '.join(VIEW_FILES)}")
    return name


def top(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    import time
    from contextlib import nullcontext

    from cgscope.fs.files import KeptFiles, keeping
    from cgscope.fs.procfs import kernel_identity
    from cgscope.model.collect import Collector
    from cgscope.model.derive import derive_overview, memory_allowance, process_usage
    from cgscope.model.member_usage import MemberUsage
    from cgscope.model.process_sampler import ProcessSampler
    from cgscope.model.runtimes import KeptStates
    from cgscope.model.state import container_states
    from cgscope.model.target import resolve_container
    from cgscope.model.usage import Overview, OverviewSample, Watched
    from cgscope.sampling.grouping import REGROUP_SECONDS, KeptGrouping

    delay = args.delay if args.delay is not None else DEFAULT_DELAY
    collector = Collector(host)
    grouping = KeptGrouping(host, collector, KeptStates(host), REGROUP_SECONDS)
    overview = Overview(host, collector, regroup=grouping.group)
    members = MemberUsage(host)  # the figures of a container that shares its cgroup: its processes'
    identity = kernel_identity(host.proc)
    files = KeptFiles()  # the cgroup files of every refresh, kept open on the live host (HostRoot.is_live)

    def sample() -> OverviewSample:
        with keeping(files) if host.is_live else nullcontext():
            return members.apply(overview.sample())

    prev = sample()
    chosen = None
    if args.target:
        chosen = resolve_container(prev.inventory, args.target, overview.collector.process, what="top")

    def selected(sample: OverviewSample) -> Watched:
        assert chosen is not None
        found = [w for w in sample.watched if w.container.id == chosen.id and chosen.id in sample.containers]
        if not found:
            raise NotFound(f"container {chosen.name} ({chosen.runtime}) has exited")
        return found[0]

    processes = ProcessSampler(Collector(host))  # a collector of its own: its cache holds only these
    prev_procs = processes.sample(overview.members(selected(prev))) if chosen else {}
    for i in range(args.iterations):
        time.sleep(delay)
        cur = sample()
        host_usage, rows = derive_overview(prev, cur)
        procs: list[ProcessUsage] | None = None
        if chosen:
            watched = selected(cur)
            rows = [r for r in rows if r.watched.container.id == watched.container.id]
            cur_procs = processes.sample(overview.members(watched))
            allowed = memory_allowance(cur.containers[watched.container.id], cur.host)
            procs = process_usage(prev_procs, cur_procs, overview.sampler.ticks, allowed)
            prev_procs = cur_procs
        prev = cur
        states = container_states(host, cur.inventory, overview.collector)
        shown = (host_usage, rows, cur.inventory, states)
        _print_refresh(args, out, (host, identity), shown, procs=(chosen, procs), first=i == 0)


def _print_refresh(
    args: argparse.Namespace,
    out: TextIO,
    about: tuple[HostRoot, tuple[str, str]],
    shown: tuple[Usage, list[ContainerUsage], Inventory, Mapping[str, ContainerState]],
    *,
    procs: tuple[Container | None, list[ProcessUsage] | None],
    first: bool,
) -> None:
    from cgscope.render import top as render
    from cgscope.render.columns.containers import SHARED_MARK
    from cgscope.render.table import print_table

    host, identity = about
    host_usage, rows, inv, states = shown
    chosen, members = procs
    mode = host.mode
    if args.json:
        data = {
            "host": render.host_json(identity, mode, host_usage),
            "containers": [render.container_json(r, states.get(r.watched.container.id)) for r in rows],
        }
        if members is not None:
            data["processes"] = [render.process_json(p, chosen) for p in members]
        emit_json(out, data)
        return
    if not first:
        out.write("\n")
    primary = host.primary.key if host.primary else None
    table = render.overview_table(host_usage, rows, inv, primary, states)
    table.title = render.title(identity, mode, host_usage.interval)
    print_table(table, out, out.isatty())
    if members is not None:
        out.write("\n")
        print_table(render.processes_table(members, chosen), out, out.isatty())
    if any(r.watched.shared or r.usage.from_processes for r in rows) and not args.quiet:
        print(
            f"cgscope: {SHARED_MARK} shares its cgroup with other processes (or is in the root "
            "cgroup), of one hierarchy or all: figures read there are its own processes', its limits "
            "the cgroup's",
            file=sys.stderr,
        )


def procview(args: argparse.Namespace, host: HostRoot, out: TextIO) -> None:
    from cgscope.fs.cgroupfs import subtree_procs
    from cgscope.model.collect import Collector
    from cgscope.model.containers import group_containers
    from cgscope.model.procview import FILES, render
    from cgscope.model.target import resolve, user_process
    from cgscope.model.usage import read_view
    from cgscope.render.views import container_ref

    collector = Collector(host)
    inv = group_containers(host, collector)
    found = resolve(inv, args.target, collector.process)
    if found.process is not None:
        user_process(found.process, "procview")
    container = found.container
    if container is None:  # a host process sees its own cgroups; the init of its pid namespace is the host's
        assert found.process is not None
        cgroups, init_ticks = found.process.cgroups, 0
        primary = host.primary
        directory = primary.directory(cgroups.get(primary.key, "/")) if primary is not None else None
        pids = sorted(subtree_procs(directory)) if directory is not None else [found.pid]
    else:
        init = inv.processes.get(container.init_pid)
        cgroups, init_ticks, pids = container.cgroup, init.start_ticks if init else 0, list(container.pids)
    inputs = read_view(host, cgroups, init_ticks, pids)
    texts = {FILES[name]: render(name, inputs) for name in dict.fromkeys(args.files or VIEW_FILES)}
    if args.json:
        ref = container_ref(container) if container is not None else None
        emit_json(out, {"container": ref, "pid": found.pid, "cgroup": dict(cgroups), "files": texts})
    elif len(texts) == 1:
        out.write(next(iter(texts.values())))
    else:  # as head(1) separates files
        out.write("\n".join(f"==> {path} <==\n{text}" for path, text in texts.items()))
