"""One container (or the host): its usage against its limits over the last minutes and what its /proc
would say inside (LXCFS), its processes numbered as inside and on the host with their CPU and memory
(as top inside it shows them), its namespaces and which of them it shares with the host, its cgroup in
each hierarchy. Each is a pane of its own."""

from __future__ import annotations

import io
import math
from collections import deque
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Label, Static, TabbedContent, TabPane

from cgscope.errors import CgscopeError
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.procfs import NS_TYPES
from cgscope.fs.system import parse_meminfo
from cgscope.model import procview
from cgscope.model.borrowed import MEASURED_ORDER
from cgscope.model.collect import Collector
from cgscope.model.containers import Container, Inventory, group_containers
from cgscope.model.derive import Usage
from cgscope.model.inspection import inspect, subject_of
from cgscope.model.isolation import namespace_states
from cgscope.model.state import ContainerState
from cgscope.model.target import Resolved, describe, find_container, short_id
from cgscope.model.usage import ViewInputs
from cgscope.render.columns import UNKNOWN, pick, processes
from cgscope.render.columns import percent as pct
from cgscope.render.columns.containers import CGROUP_COLUMNS, HOST, CgroupRow
from cgscope.render.columns.namespaces import ISOLATION
from cgscope.render.columns.processes import ProcessRow
from cgscope.render.inspect import write_inspection
from cgscope.render.table import visible
from cgscope.sampling import Frame, Need
from cgscope.tui.actions import Selection
from cgscope.tui.screens.base import CONTAINER_ACTIONS, PROCESS_ACTIONS, ROW_BINDINGS, DataScreen
from cgscope.tui.session import Session
from cgscope.tui.widgets.header import human_uptime
from cgscope.tui.widgets.steady import put
from cgscope.tui.widgets.table import SortableTable
from cgscope.tui.widgets.trend import Trend
from cgscope.units import size

HISTORY = 300  # refreshes kept for the sparklines: 10 minutes at the default 2 s


def summary(c: Container | None, inv: Inventory, pids: int, state: ContainerState | None = None) -> str:
    if c is None:
        return f"{HOST} · {pids} processes outside containers"
    activity = state.activity if state is not None and state.activity is not None else UNKNOWN
    parts = [
        c.name,
        c.runtime,
        activity,
        short_id(c, inv.containers),
        f"init {c.init_pid}",
        f"{pids} processes",
    ]
    if c.pod is not None:
        parts.append(f"pod {c.pod.uid} ({c.pod.qos})")
    return " · ".join(parts)


def state_line(state: ContainerState | None) -> str | None:
    """What a frozen or paused container's state means, and what resumes it."""
    if state is None or (state.activity in (None, "running") and not state.stale_pause):
        return None
    if state.stale_pause:
        return f"state   running · {state.note}"
    if state.activity == "paused":
        return f"state   paused by {state.runtime}: '{state.runtime} unpause' resumes it"
    return f"state   {state.activity}: its processes do not run until it is thawed (f)"


def usage_lines(u: Usage | None, state: ContainerState | None = None) -> str:
    """Its state where it is not running, where its figures come from when not from its cgroup, then
    CPU, memory, pids, pressure and OOM kills against the limits, as numbers."""
    said = state_line(state)
    if u is None:
        return "\n".join([*([said] if said else []), f"usage: {UNKNOWN} (its counters are unreadable)"])
    lines = [said] if said else []
    if u.source == "processes":
        lines.append("source  its processes: its cgroup holds others too; the limits are the cgroup's")
    elif u.from_processes:
        theirs = ", ".join(f for f in MEASURED_ORDER if f in u.from_processes)
        lines.append(f"source  {theirs} its processes': their cgroups hold others too (the rest its own)")
    c, m, p = u.cpu, u.memory, u.pids
    if c is not None:
        now = "… (from the next refresh)" if c.host_percent is None else f"{pct(c.host_percent)} %"
        line = f"CPU     {now} · allowance {c.limit_cpus:g} CPUs"
        if c.limit_percent is not None:
            line += f" ({pct(c.limit_percent)} % of it)"
        if c.quota_cpus is not None and c.throttled_percent is not None:
            line += f" · throttled {pct(c.throttled_percent)} %"
        lines.append(line)
    if m is not None:
        limit = f"{size(m.limit_bytes)} ({pct(m.limit_percent)} %)" if m.limit_bytes else "no limit"
        lines.append(
            f"memory  {size(m.usage_bytes)} of {limit} · working set {size(m.working_set_bytes)}"
            f" · OOM kills {m.oom_kills if m.oom_kills is not None else UNKNOWN}"
        )
    if p is not None:
        lines.append(f"pids    {p.current} of {p.max if p.max is not None else 'no limit'}")
    if u.pressure:
        lines.append(
            "PSI     " + " · ".join(f"{kind} {psi.some.avg10:.1f} %" for kind, psi in u.pressure.items())
        )
    return "\n".join(lines) or f"usage: {UNKNOWN}"


def inside_lines(view: ViewInputs | None) -> str:
    """What nproc, free and top (uptime, load) would print inside under LXCFS (model/procview)."""
    if view is None:
        return f"as seen inside: {UNKNOWN} (its counters are unreadable)"
    mem = parse_meminfo(procview.meminfo(view), procview.FILES["meminfo"])
    total, free, available = mem.get("MemTotal"), mem.get("MemFree"), mem.get("MemAvailable")
    used = total - available if total is not None and available is not None else None
    up, _ = procview.uptime(view).split()
    load = procview.loadavg(view).split()
    shown = [size(v * 1024) if v is not None else UNKNOWN for v in (total, used, free, available)]
    return "\n".join(
        [
            f"nproc   {len(procview.visible_cpus(view))}",
            "free    total {} · used {} · free {} · available {}".format(*shown),
            f"top     up {human_uptime(float(up))} · load average {' '.join(load[:3])} · tasks {load[3]}",
        ]
    )


def inspection_text(host: HostRoot, key: str) -> str:
    """The isolation map, rootfs and lifecycle as `cgscope inspect --no-sizes` prints them."""
    collector = Collector(host)
    inv = group_containers(host, collector)
    if key == HOST:
        return "the host: run 'cgscope inspect PID' for one of its processes"
    subject = subject_of(inv, Resolved(find_container(inv, key), None), collector.process)
    ins = inspect(host, collector, inv, subject, sizes=False)
    out = io.StringIO()
    write_inspection(ins, out, terminal=False)
    return out.getvalue().rstrip("\n")


def cgroup_rows(host: HostRoot, c: Container | None) -> list[tuple[str, CgroupRow]]:
    rows = []
    for m in host.mounts:
        path = (m.root or "/") if c is None else c.cgroup.get(m.key)
        if path is not None:
            rows.append((m.key, CgroupRow(m.key, m.version, path)))
    return rows


def cpu_scale(usage: Usage | None, history: deque[float]) -> tuple[float, str]:
    """The top of the CPU trend, fixed: its quota (the allowance in % of one CPU), else one CPU, or as
    many whole CPUs as it has used."""
    c = usage.cpu if usage is not None else None
    if c is not None and c.quota_cpus is not None:
        return c.limit_cpus * 100, f"{c.limit_cpus * 100:g} %"
    cpus = max(1, math.ceil(max(history, default=0.0) / 100))
    return cpus * 100.0, f"{cpus * 100} %"


class ContainerDetailScreen(DataScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", tooltip="back to the list"),
        Binding("backspace", "app.pop_screen", "Back", show=False, tooltip="back to the list"),
        *ROW_BINDINGS,
        Binding("s", "pane('usage')", "Usage", show=False, tooltip="usage against its limits"),
        Binding("p", "pane('processes')", "Processes", show=False, tooltip="its processes"),
        Binding("n", "pane('namespaces')", "Namespaces", show=False, tooltip="its namespaces"),
        Binding("g", "pane('cgroups')", "Cgroups", show=False, tooltip="its cgroup in each hierarchy"),
        Binding("o", "pane('isolation')", "Isolation", show=False, tooltip="isolation and its filesystem"),
    ]

    def __init__(self, session: Session, key: str) -> None:
        super().__init__(session)
        self.key = key  # a container id, or HOST
        self.cpu_history: deque[float] = deque(maxlen=HISTORY)
        self.memory_history: deque[float] = deque(maxlen=HISTORY)
        self.isolation_read = False
        self.span_s: float | None = None  # a replay's sparklines span (live: refreshes by interval)
        self.last: Container | None = None  # the container as last drawn: named after it exits

    def needs(self) -> frozenset[Need]:
        # The host's processes are not read in full for the containers list; a container's are. A replay
        # has none of them: the host's usage is what it shows.
        live = self.session.replay is None
        return frozenset({Need.PROCESSES}) if self.key == HOST and live else frozenset()

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="summary-row"):
            yield Label("reading…", id="summary", markup=False)
            yield Button("Back to the list", id="back", compact=True)
        with TabbedContent(id="panes"):
            with TabPane("Usage", id="usage"), VerticalScroll():
                yield Static("reading…", id="usage-text", markup=False)
                yield Label("CPU", id="cpu-label", classes="spark-label", markup=False)
                yield Trend(id="cpu-trend")
                yield Label("memory", id="memory-label", classes="spark-label", markup=False)
                yield Trend(id="memory-trend")
                yield Label("As seen inside (under LXCFS)", classes="spark-label")
                yield Static("reading…", id="inside-text", markup=False)
            with TabPane("Processes", id="processes"):
                yield SortableTable(pick(processes.COLUMNS, processes.MEMBERS), sort="nspid", id="members")
            with TabPane("Namespaces", id="namespaces"):
                yield SortableTable(ISOLATION, id="namespaces-table")
            with TabPane("Cgroups", id="cgroups"):
                yield SortableTable(CGROUP_COLUMNS, id="cgroups-table")
            with TabPane("Isolation / Filesystem", id="isolation"), VerticalScroll():
                yield Static("read when this pane opens", id="isolation-text", markup=False)

    def selection(self, *, process: bool = False) -> Selection | None:
        """The container; with `process`, the process selected in its Processes pane."""
        frame = self.drawn
        if process:
            members = self.query_one("#members", SortableTable)
            member = members.item(members.selected_key or "")
            return Selection.of_process(member.process) if isinstance(member, ProcessRow) else None
        container = next((c for c in frame.inventory.containers if c.id == self.key), None) if frame else None
        return Selection.of_container(container) if container is not None else None

    def row_actions(self) -> frozenset[str]:
        """The container's actions; a member's too on the Processes pane."""
        out = CONTAINER_ACTIONS if self.selection() is not None else frozenset()
        on_members = self.query_one(TabbedContent).active == "processes"
        if on_members and self.selection(process=True) is not None:
            out |= PROCESS_ACTIONS
        return out

    def detail_key(self) -> str | None:
        return None if self.key == HOST else self.key

    def complete(self, frame: Frame) -> bool:
        """A container's detail is drawn at once from the Frame at hand (its usage, namespaces and
        cgroups are in every Frame), then again from the one that read its processes and /proc view."""
        if not super().complete(frame):
            return False
        if (
            self.key == HOST
            or self.session.replay is not None
            or not any(c.id == self.key for c in frame.inventory.containers)
        ):
            return True
        return frame.detail is not None and frame.detail.key == self.key

    def action_pane(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "back":
            event.stop()
            self.dismiss()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()
        if event.pane.id == "isolation" and not self.isolation_read:
            self.isolation_read = True
            if self.session.replay is not None:  # the host now is not the host recorded
                self._show_isolation("not recorded: `cgscope inspect` tells a running container's isolation")
                return
            self.query_one("#isolation-text", Static).update("reading…")
            self.read_isolation(self.host, self.key)

    @work(thread=True, exclusive=True, group="isolation")
    def read_isolation(self, host: HostRoot, key: str) -> None:
        """`cgscope inspect`'s report (without layer sizes: walking a rootfs may take seconds), read once
        the pane is first opened, off the UI thread."""
        try:
            text = inspection_text(host, key)
        except CgscopeError as exc:
            text = visible(str(exc))
        self.app.call_from_thread(self._show_isolation, text)

    def _show_isolation(self, text: str) -> None:
        self.query_one("#isolation-text", Static).update(text)

    def draw(self, frame: Frame) -> None:
        inv = frame.inventory
        container = next((c for c in inv.containers if c.id == self.key), None)
        if container is None and self.key != HOST:
            self._exited(inv)
            return
        self.last = container
        self.set_class(False, "-gone")
        if container is not None:
            pids, namespaces, procs = container.pids, container.namespaces, inv.processes
        else:
            pids, namespaces, procs = inv.host_pids, inv.host_namespaces, frame.processes or {}
        detail = frame.detail if frame.detail is not None and frame.detail.key == self.key else None
        # Its processes' usage: the container's own read, or every process's (the host's detail reads
        # every process); none yet right after it opens, until the refresh that reads them.
        used = detail.processes if detail is not None else frame.process_usage or {}
        members = [
            (str(pid), ProcessRow(procs[pid], container, used.get(pid))) for pid in pids if pid in procs
        ]
        state = frame.states.get(container.id) if container is not None else None
        put(self.query_one("#summary", Label), visible(summary(container, inv, len(pids), state)))
        self.query_one("#members", SortableTable).show(members)
        self._draw_usage(frame, container, detail.view if detail is not None else None)
        shared = container.shared_with_host if container else NS_TYPES
        states = namespace_states(namespaces, inv.host_namespaces, shared)
        self.query_one("#namespaces-table", SortableTable).show([(n.type, n) for n in states])
        self.query_one("#cgroups-table", SortableTable).show(cgroup_rows(self.host, container))

    def _exited(self, inv: Inventory) -> None:
        """No process of it is left: say so, keep its last figures (greyed) and offer the way back."""
        who = describe(self.last, inv.containers) if self.last is not None else self.key[:12]
        self.query_one("#summary", Label).update(
            visible(f"{who} exited · its last figures, greyed · Esc: back")
        )
        self.set_class(True, "-gone")
        self.refresh_bindings()

    def _remember(self, frame: Frame, c: Container | None, cpu: float | None, wset: int | None) -> None:
        """The figures of the sparklines: each refresh's, or in a replay the recorded frames' up to the
        one shown."""
        replay = self.session.replay
        if replay is not None:
            series = replay.series(c.id if c is not None else None, frame, HISTORY)
            self.cpu_history = deque(series.cpu, maxlen=HISTORY)
            self.memory_history = deque(series.working_set, maxlen=HISTORY)
            self.span_s = series.span_s
            return
        if cpu is not None:
            self.cpu_history.append(cpu)
        if wset is not None:
            self.memory_history.append(float(wset))

    def _trend(self, name: str, what: str, values: deque[float], scale: tuple[float, str], now: str) -> None:
        """A trend of the history on a fixed scale, 0 to `scale` (the label says what it is)."""
        self.query_one(f"#{name}-trend", Trend).show(values, *scale)
        span_s = self.span_s if self.span_s is not None else len(values) * self.interval
        minutes = span_s / 60
        span = f", last {minutes:.1f} min" if len(values) > 1 else ""
        put(self.query_one(f"#{name}-label", Label), f"{what}: {now}{span}, on a scale of 0 to {scale[1]}")

    def _draw_usage(self, frame: Frame, container: Container | None, view: ViewInputs | None) -> None:
        if container is None:
            usage = frame.usage
        else:
            row = frame.container_usage.get(container.id)
            usage = row.usage if row is not None else None
        state = frame.states.get(container.id) if container is not None else None
        put(self.query_one("#usage-text", Static), usage_lines(usage, state))
        cpu = usage.cpu.host_percent if usage is not None and usage.cpu is not None else None
        memory = usage.memory if usage is not None else None
        self._remember(frame, container, cpu, memory.working_set_bytes if memory is not None else None)
        now = f"{self.cpu_history[-1]:.1f} %" if cpu is not None else UNKNOWN
        self._trend("cpu", "CPU % of one CPU", self.cpu_history, cpu_scale(usage, self.cpu_history), now)
        limit = memory.limit_bytes if memory is not None else None
        top = (float(limit), size(limit)) if limit else (max(self.memory_history, default=1.0), UNKNOWN)
        now = size(memory.working_set_bytes) if memory is not None else UNKNOWN
        self._trend("memory", "working set", self.memory_history, top, now)
        inside = inside_lines(view) if container is not None else "the host: its own /proc"
        if self.session.replay is not None and container is not None:
            inside = "as seen inside: not recorded"
        put(self.query_one("#inside-text", Static), inside)
