"""Every series the exporter serves: name, type, help, and which figure of a Reading it shows.

Names and labels are cAdvisor's (lib/metrics/prometheus.go) where the figure is the same, so the
kubernetes-mixin's dashboards and alerts select them unchanged; what cAdvisor lacks is named cgscope_*.
docs/export.md lists each with the file it comes from on each cgroup version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cgscope.export.source import Figures

Extra = tuple[tuple[str, str], ...]  # labels a series adds to its cgroup's, sorted by name
Values = Callable[[Figures], Iterable[tuple[Extra, float]]]


@dataclass(frozen=True)
class Family:
    name: str  # the samples' name; a counter's ends in _total
    kind: str  # counter, gauge, unknown or info (OpenMetrics' types)
    help: str
    values: Values = lambda _f: ()
    reads: str = ""  # the field of Figures `values` reads, where it is not a Field (the exposition
    # writes a family again only where that field changed)

    @property
    def figure(self) -> str:
        """The field of Figures its samples come from."""
        return self.values.name if isinstance(self.values, Field) else self.reads


@dataclass(frozen=True)
class Field:
    """One sample of the figure `name`, absent where the figure is None. The exposition reads the fields
    of a cgroup's Figures all at once (FIELDS)."""

    name: str
    extra: Extra = ()

    def __call__(self, f: Figures) -> Iterable[tuple[Extra, float]]:
        value = getattr(f, self.name)
        return () if value is None else ((self.extra, value),)


def _events(f: Figures) -> Iterable[tuple[Extra, float]]:
    return [((("event", event),), count) for event, count in sorted(f.memory_events.items())]


def _pressure_total(kind: str, stalled: bool) -> Values:
    def values(f: Figures) -> Iterable[tuple[Extra, float]]:
        p = f.pressure.get(kind)
        value = None if p is None else p.stalled if stalled else p.waiting
        return () if value is None else (((), value),)

    return values


def _pressure_avg10(f: Figures) -> Iterable[tuple[Extra, float]]:
    out: list[tuple[Extra, float]] = []
    for resource, p in sorted(f.pressure.items()):
        out.append(((("kind", "waiting"), ("resource", resource)), p.waiting_avg10))
        if p.stalled_avg10 is not None:
            out.append(((("kind", "stalled"), ("resource", resource)), p.stalled_avg10))
    return out


def _pressure_families() -> list[Family]:
    out = []
    for kind in ("cpu", "memory", "io"):
        for stalled, word, what in ((False, "waiting", "some"), (True, "stalled", "all")):
            out.append(
                Family(
                    f"container_pressure_{kind}_{word}_seconds_total",
                    "counter",
                    f"Total time {what} tasks in the cgroup stalled on {kind} (PSI).",
                    _pressure_total(kind, stalled),
                    "pressure",
                )
            )
    return out


# The series of each cgroup (and of the host, as id="/"), in the order they are served.
CGROUP_FAMILIES: tuple[Family, ...] = (
    Family("container_last_seen", "gauge", "Last time the container was seen by the exporter.",
           Field("last_seen")),
    Family("container_start_time_seconds", "gauge", "Start time of the container's init, unix seconds.",
           Field("start_time")),
    Family("container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed in seconds.",
           Field("cpu_seconds", (("cpu", "total"),))),
    Family("container_cpu_user_seconds_total", "counter", "Cumulative user cpu time consumed in seconds.",
           Field("cpu_user_seconds")),
    Family("container_cpu_system_seconds_total", "counter",
           "Cumulative system cpu time consumed in seconds.", Field("cpu_system_seconds")),
    Family("container_cpu_cfs_periods_total", "counter", "Number of elapsed enforcement period intervals.",
           Field("cfs_periods")),
    Family("container_cpu_cfs_throttled_periods_total", "counter", "Number of throttled period intervals.",
           Field("cfs_throttled_periods")),
    Family("container_cpu_cfs_throttled_seconds_total", "counter",
           "Total time duration the container has been throttled.", Field("cfs_throttled_seconds")),
    Family("container_spec_cpu_quota", "gauge", "CPU quota of the container, microseconds per period.",
           Field("spec_cpu_quota")),
    Family("container_spec_cpu_period", "gauge", "CPU period of the container, microseconds.",
           Field("spec_cpu_period")),
    Family("container_spec_cpu_shares", "gauge", "CPU share of the container.", Field("spec_cpu_shares")),
    Family("container_memory_usage_bytes", "gauge",
           "Current memory usage in bytes, including all memory regardless of when it was accessed.",
           Field("memory_usage")),
    Family("container_memory_working_set_bytes", "gauge", "Current working set in bytes.",
           Field("memory_working_set")),
    Family("container_memory_rss", "gauge", "Size of RSS in bytes.", Field("memory_rss")),
    Family("container_memory_cache", "gauge", "Number of bytes of page cache memory.",
           Field("memory_cache")),
    Family("container_memory_swap", "gauge", "Container swap usage in bytes.", Field("memory_swap")),
    Family("container_memory_mapped_file", "gauge", "Size of memory mapped files in bytes.",
           Field("memory_mapped_file")),
    # A counter by nature, typed unknown: a counter's name must end in _total, and this is cAdvisor's.
    Family("container_memory_failcnt", "unknown", "Number of memory usage hits limits.",
           Field("memory_failcnt")),
    Family("container_spec_memory_limit_bytes", "gauge", "Memory limit for the container, 0 for none.",
           Field("spec_memory_limit")),
    Family("container_oom_events_total", "counter",
           "Count of out of memory events observed for the container (OOM kills).", Field("oom_kills")),
    Family("container_processes", "gauge", "Number of processes running inside the container.",
           Field("processes")),
    Family("container_threads", "gauge", "Number of threads running inside the container.",
           Field("threads")),
    Family("container_threads_max", "gauge",
           "Maximum number of threads allowed inside the container, infinity if value is zero.",
           Field("threads_max")),
    *_pressure_families(),
    Family("cgscope_container_memory_events_total", "counter",
           "Memory events of the cgroup and below, by event (cgroup v2 memory.events; v1: oom_kill).",
           _events, "memory_events"),
    Family("cgscope_container_pressure_avg10_ratio", "gauge",
           "Share of the last 10 s in which some (waiting) or all (stalled) tasks stalled (PSI avg10).",
           _pressure_avg10, "pressure"),
    Family("cgscope_container_visible_cpus", "gauge",
           "CPUs the container should see (nproc under LXCFS): its cpuset, capped by its CFS quota.",
           Field("visible_cpus")),
    Family("cgscope_container_visible_memory_bytes", "gauge",
           "Memory the container should see (MemTotal under LXCFS): its limit, capped by the host's RAM.",
           Field("visible_memory")),
)  # fmt: skip

MACHINE_CPU_CORES = Family("machine_cpu_cores", "gauge", "Number of logical CPU cores online.")
MACHINE_MEMORY = Family("machine_memory_bytes", "gauge", "Amount of memory installed on the machine.")
CONTAINER_INFO = Family(
    "cgscope_container_info",
    "info",
    "A container cgscope found: its runtime, init pid and the namespaces it shares with the host.",
)
SCRAPE_DURATION = Family(
    "cgscope_scrape_duration_seconds", "gauge", "Seconds the exporter took to read the host for this sample."
)
SCRAPE_CPU = Family(
    "cgscope_scrape_cpu_seconds_total", "counter", "CPU seconds the exporter spent serving scrapes."
)
SAMPLES = Family(
    "cgscope_samples_total", "counter", "Times the exporter read the host (scrapes within --interval share)."
)
OWN_FAMILIES = (SCRAPE_DURATION, SCRAPE_CPU, SAMPLES)
ALL_FAMILIES = (MACHINE_CPU_CORES, MACHINE_MEMORY, *CGROUP_FAMILIES, CONTAINER_INFO, *OWN_FAMILIES)
