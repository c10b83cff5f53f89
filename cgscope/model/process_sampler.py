"""Per-process counters of a container's members, for `top CONTAINER` and the dashboard's detail."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs import procfs
from cgscope.model.collect import Collector
from cgscope.model.process import Process


@dataclass(frozen=True)
class ProcessSample:
    """One process's counters, for `top CONTAINER`."""

    process: Process
    cpu_ticks: int  # utime + stime, clock ticks
    rss_bytes: int
    state: str
    taken_at: float  # time.monotonic()
    threads: int = 1


class ProcessSampler:
    """Per-process samples; a process is read in full (Collector.process) once per lifetime, then only
    its /proc/PID/stat."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.page_size = procfs.page_size()
        self._known: dict[tuple[int, int], Process] = {}

    def sample(self, pids: Iterable[int]) -> dict[tuple[int, int], ProcessSample]:
        proc = self.collector.host.proc
        out = {}
        for pid in pids:
            try:
                stat = procfs.read_stat(proc, pid)
                key = (pid, stat.start_ticks)
                process = self._known.get(key) or self.collector.process(pid)
            except (ProcessGone, AccessDenied):
                continue
            self._known[key] = process
            rss = stat.rss_pages * self.page_size
            cpu = stat.utime + stat.stime
            out[key] = ProcessSample(process, cpu, rss, stat.state, time.monotonic(), stat.num_threads)
        for key in self._known.keys() - out.keys():
            del self._known[key]
        return out
