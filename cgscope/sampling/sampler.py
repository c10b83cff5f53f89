"""What one refresh reads (the dashboard reads it in a worker thread): a Frame of everything shown.

The cost grows with what is shown: a refresh places processes into containers (per cgroup, plus two
namespace links per new host process; again only when sampling/grouping.py sees a change) and reads
the host's load; usage against limits costs a few files per container cgroup (model/usage.py's
Overview), kept open and read again, one to three per process for a container that shares a cgroup
with other processes (model/member_usage.py), its state one more (model/state.py); every process is
read in full only while a view lists them (their CPU % from two such reads), and the cgroup trees are
walked only while the tree view is open.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterable, Mapping

from cgscope.errors import AccessDenied, CgscopeError, ProcessGone
from cgscope.fs import cgroupfs
from cgscope.fs.files import KeptFiles, keeping
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.pressure import PSI_SECONDS
from cgscope.fs.procfs import clock_ticks, kernel_identity
from cgscope.fs.system import HostFigures, SystemInfo, read_host_figures
from cgscope.model.collect import Collector
from cgscope.model.containers import Inventory, group_containers
from cgscope.model.derive import (
    ContainerUsage,
    ProcessUsage,
    Usage,
    derive_overview,
    memory_allowance,
    process_usage,
)
from cgscope.model.member_usage import MemberUsage
from cgscope.model.namespaces import Namespace, list_namespaces
from cgscope.model.process import Process
from cgscope.model.process_sampler import ProcessSample, ProcessSampler
from cgscope.model.runtimes import KeptStates
from cgscope.model.state import container_states
from cgscope.model.tree import read_tree
from cgscope.model.usage import (
    Overview,
    OverviewSample,
    ViewInputs,
    read_view,
)
from cgscope.model.usage import Sampler as CgroupSampler
from cgscope.sampling.frame import Detail, Frame, Need
from cgscope.sampling.grouping import KeptGrouping


class Sampler:
    """Reads a Frame; keeps one Collector alive so what never changes per process is read once.
    `limits_seconds`: the containers' limits are read again once that old (model/usage.Sampler), not
    every refresh; `regroup_seconds`: the containers are grouped again at least that often, else only
    when a signal says they changed (sampling/grouping.py)."""

    def __init__(self, host: HostRoot, limits_seconds: float = 0.0, regroup_seconds: float = 0.0) -> None:
        self.host = host
        self.limits_seconds = limits_seconds
        self.collector = Collector(host)
        self.overview: Overview | None = None  # made at the first refresh (it reads the online CPUs)
        self._last: OverviewSample | None = None
        self.processes = ProcessSampler(Collector(host))  # a collector of its own: only the focus's members
        self._last_processes: tuple[str, dict[tuple[int, int], ProcessSample]] | None = None
        self._last_snapshot: dict[tuple[int, int], ProcessSample] = {}
        self.count = 0
        self._ticks = clock_ticks()
        self._kernel: tuple[str, str] | None = None
        self.states = KeptStates(host)  # the runtimes' state files, parsed once while they do not change
        self.members = MemberUsage(host)  # the usage of containers that share their cgroup
        self.grouping = KeptGrouping(host, self.collector, self.states, regroup_seconds)
        # The cgroup files read each refresh, kept open (fs/files.KeptFiles), the limits and PSI while
        # read at least as often as they are: on the live host only (HostRoot.is_live).
        self.files = KeptFiles(keep_seconds=2 * max(limits_seconds, PSI_SECONDS))

    def sample(self, needs: Collection[Need], focus: str | None = None) -> Frame:
        """One Frame; `focus` names the container whose detail is open."""
        if not self.host.is_live:  # see self.files
            return self._sample(needs, focus)
        with keeping(self.files):
            return self._sample(needs, focus)

    def _sample(self, needs: Collection[Need], focus: str | None) -> Frame:
        hostname, kernel = self._identity()
        figures = read_host_figures(self.host)
        system = SystemInfo.of(figures)
        processes: Mapping[int, Process] | None = None
        namespaces: tuple[Namespace, ...] | None = None
        every: Mapping[int, ProcessUsage] | None = None
        if Need.PROCESSES in needs:
            snapshot = self.collector.snapshot()
            processes = snapshot.processes
            namespaces = tuple(list_namespaces(snapshot))
            every = self._every_process(snapshot.processes.values(), snapshot.taken_at, system)
        else:
            self._last_snapshot = {}
        primary = self.host.primary
        walked = list(cgroupfs.walk(primary.mountpoint)) if primary is not None else []
        if processes is None:  # only container members were read: forget processes read before
            inventory = self.grouping.group(walked)
            self.collector.retain(inventory.processes.values())
        else:
            inventory = group_containers(self.host, self.collector, processes, walked, self.states)
        trees = None
        if Need.TREES in needs:
            trees = tuple((m, read_tree(m)) for m in self.host.mounts)
        usage, container_usage = self._usage(figures, inventory)
        detail = self._detail(focus, inventory) if focus is not None else None
        self.count += 1
        return Frame(
            number=self.count,
            taken_at=time.time(),
            hostname=hostname,
            kernel=kernel,
            system=system,
            inventory=inventory,
            processes=processes,
            process_usage=every,
            namespaces=namespaces,
            trees=trees,
            usage=usage,
            container_usage=container_usage,
            states=container_states(self.host, inventory, self.collector, self.states),
            detail=detail,
        )

    def limits_changed(self) -> None:
        """The caller changed a limit: the next refresh reads the limits again, whatever their age."""
        if self.overview is not None:
            self.overview.sampler.forget_limits()

    def _identity(self) -> tuple[str, str]:
        """(hostname, kernel release). /proc/sys/kernel answers in the reader's UTS namespace, as uname(2)
        does (kernel/utsname_sysctl.c), so on the live host uname() tells both without a file; a captured
        or fixture root is read once."""
        if self.collector.reader is not None:
            uname = os.uname()
            return uname.nodename, uname.release
        if self._kernel is None:
            self._kernel = kernel_identity(self.host.proc)
        return self._kernel

    def _every_process(
        self, processes: Iterable[Process], taken_at: float, system: SystemInfo
    ) -> dict[int, ProcessUsage]:
        """Each process's CPU % since the last full read (the counters of its /proc/PID/stat, read with
        it), RSS of the host's memory, threads."""
        cur = {
            p.key: ProcessSample(p, p.cpu_ticks, p.rss_bytes, p.state, taken_at, p.threads) for p in processes
        }
        prev, self._last_snapshot = self._last_snapshot, cur
        total = system.mem_total_kib * 1024 if system.mem_total_kib is not None else None
        return {u.process.pid: u for u in process_usage(prev, cur, self._ticks, total)}

    def _usage(
        self, figures: HostFigures, inventory: Inventory
    ) -> tuple[Usage | None, dict[str, ContainerUsage]]:
        """Usage against limits since the last refresh (the first has levels, no rates yet)."""
        try:
            if self.overview is None:
                sampler = CgroupSampler(self.host, limits_seconds=self.limits_seconds)
                self.overview = Overview(self.host, self.collector, sampler)
            cur = self.members.apply(self.overview.sample(figures, inventory))
        except (ProcessGone, AccessDenied):  # a captured tree without the host's counters: unknown
            return None, {}  # (a malformed file is no such case: the refresh fails and says which)
        prev, self._last = self._last or cur, cur
        host, rows = derive_overview(prev, cur)
        return host, {row.watched.container.id: row for row in rows}

    def _detail(self, focus: str, inventory: Inventory) -> Detail | None:
        container = next((c for c in inventory.containers if c.id == focus), None)
        if container is None:
            return None
        init = inventory.processes.get(container.init_pid)
        last = self._last  # this round's: the overview sampled it before
        sample = last.containers.get(focus) if last is not None else None
        kept = (self.overview.sampler, sample) if self.overview is not None else None
        try:
            view: ViewInputs | None = read_view(
                self.host, container.cgroup, init.start_ticks if init else 0, container.pids, kept
            )
        except CgscopeError:
            view = None
        cur = self.processes.sample(container.pids)
        prev = self._last_processes[1] if self._last_processes and self._last_processes[0] == focus else {}
        self._last_processes = (focus, cur)
        allowed = memory_allowance(sample, last.host) if sample is not None and last is not None else None
        rows = process_usage(prev, cur, self._ticks, allowed)
        return Detail(focus, view, {u.process.pid: u for u in rows})
