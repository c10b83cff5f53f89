"""Synthetic process load for the benchmark: N sleeping processes spread over M cgroups.

Each group is a cgroup named ``cgscope-bench-<random>/gNNN`` that exists in the cgroup2 tree and in
the v1 ``pids``, ``cpu``, ``cpuacct``, ``memory`` and ``blkio`` hierarchies that are mounted: each
hierarchy a figure is read from, as a runtime (runc joins every mounted hierarchy) puts its containers
in each. A group left in a hierarchy's root cgroup would measure the other case, a container whose
figure is taken from its processes (cgscope/model/borrowed.py). A group is one ``sh`` that joins
its cgroups (``echo 0 > cgroup.procs``) and then forks ``sleep`` processes; a fraction of the groups
run under ``unshare --pid --fork --mount-proc --uts --ipc`` (bare containers).

The bench only ever kills processes it started (by process group, and the members of the cgroups it
created) and removes only the cgroups it created. The module is self-contained: it does not import
cgscope, so measuring cgscope does not depend on cgscope's own readers.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import secrets
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

BENCH_PREFIX = "cgscope-bench-"
V1_CONTROLLERS = ("pids", "cpu", "cpuacct", "memory", "blkio")
UNIFIED = "unified"
SLEEP_SECONDS = 100_000
PR_SET_CHILD_SUBREAPER = 36
PID_MAX_LIMIT = 4_194_304  # PID_MAX_LIMIT on 64-bit kernels
_ESCAPE = re.compile(r"\\([0-7]{3})")

# Run by every group leader: $1 = sleeps to fork, $2 = 1 for a namespaced group, then cgroup.procs files.
_GROUP_SCRIPT = r"""
n=$1; ns=$2; shift 2
for f in "$@"; do echo 0 > "$f" || { echo "cannot join $f"; exit 1; }; done
if [ "$ns" = 1 ]; then
  exec unshare --pid --fork --mount-proc --uts --ipc sh -c "$SPAWN" sh "$((n - 1))"
fi
exec sh -c "$SPAWN" sh "$n"
"""
# Forks $1 sleeps, reports readiness on stdout, then waits (as pid 1 in a namespaced group).
_SPAWN_SCRIPT = f"""
i=0
while [ "$i" -lt "$1" ]; do sleep {SLEEP_SECONDS} </dev/null >/dev/null 2>&1 & i=$((i + 1)); done
echo ready
wait
"""


class LoadError(RuntimeError):
    """The load could not be built."""


@dataclass(frozen=True)
class Hierarchy:
    """A mounted cgroup hierarchy the bench creates groups in."""

    name: str  # "unified" or the v1 controller (one of V1_CONTROLLERS)
    mountpoint: Path


def find_hierarchies(mountinfo: Path = Path("/proc/self/mountinfo"), v1: bool = True) -> list[Hierarchy]:
    """The cgroup2 mount plus the v1 mounts carrying one of V1_CONTROLLERS (one per mountpoint)."""
    found: dict[str, Hierarchy] = {}
    seen: set[Path] = set()
    for line in mountinfo.read_text().splitlines():
        pre, _, post = line.partition(" - ")
        fields, tail = pre.split(), post.split()
        if len(fields) < 5 or len(tail) < 3 or fields[3] != "/":
            continue  # bind mounts of a sub-cgroup are not a hierarchy's root
        mountpoint = Path(_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4]))
        if tail[0] == "cgroup2":
            names = [UNIFIED]
        elif tail[0] == "cgroup" and v1:
            names = [c for c in tail[2].split(",") if c in V1_CONTROLLERS]
        else:
            continue
        for name in names:
            if name not in found and mountpoint not in seen:
                found[name] = Hierarchy(name, mountpoint)
                seen.add(mountpoint)
    order = [UNIFIED, *V1_CONTROLLERS]
    return sorted(found.values(), key=lambda h: order.index(h.name))


def _set_child_subreaper() -> None:
    """Become the reaper of orphaned descendants so killed sleeps are reaped here, not by PID 1."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _reap_orphans() -> int:
    """Reap every exited descendant re-parented to us; returns how many were reaped."""
    reaped = 0
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped += 1


def _read_int(path: Path) -> int:
    return int(path.read_text().split()[0])


def mem_available_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    raise LoadError("no MemAvailable in /proc/meminfo")


def task_count() -> int:
    """Kernel scheduling entities (threads) alive now: the 4th field of /proc/loadavg."""
    return int(Path("/proc/loadavg").read_text().split()[3].split("/")[1])


@contextlib.contextmanager
def pid_capacity(extra: int, log: Callable[[str], None]) -> Iterator[None]:
    """Raise kernel.pid_max / kernel.threads-max if `extra` more tasks would crowd them; restore after."""
    needed = 2 * (task_count() + extra + 1024)  # headroom: pid allocation slows near the limit
    saved: list[tuple[Path, int]] = []
    try:
        for name, ceiling in (("pid_max", PID_MAX_LIMIT), ("threads-max", 2**30)):
            path = Path("/proc/sys/kernel") / name
            current = _read_int(path)
            if current < needed:
                target = min(needed, ceiling)
                log(f"raising kernel.{name} {current} -> {target} (restored afterwards)")
                path.write_text(str(target))
                saved.append((path, current))
        yield
    finally:
        for path, value in reversed(saved):
            path.write_text(str(value))


@dataclass
class Group:
    """One cgroup of the load and the process tree started in it."""

    index: int
    size: int  # processes in the group, leader included
    namespaced: bool
    leader: subprocess.Popen[bytes] | None = None
    path: str | None = None  # below the load's top cgroup, e.g. "/kubepods/burstable/pod<uid>/<id>"
    quota_us: int | None = None  # a CFS quota per 100 ms period, written where the cpu controller is
    memory_limit: int | None = None  # bytes, written where the memory controller is


@dataclass
class Load:
    """N processes over M groups; use as a context manager (build on enter, teardown on exit)."""

    n: int
    groups: int
    ns_fraction: float = 0.1
    hierarchies: list[Hierarchy] = field(default_factory=find_hierarchies)
    ready_timeout: float = 120.0
    log: Callable[[str], None] = lambda _msg: None
    layout: list[Group] | None = None  # the groups, made by a profile (bench/node.py); else N over M
    name: str = field(default_factory=lambda: BENCH_PREFIX + secrets.token_hex(4))
    members: list[Group] = field(default_factory=list, init=False)
    created: list[Path] = field(default_factory=list, init=False)  # directories, in creation order
    build_seconds: float = field(default=0.0, init=False)
    teardown_seconds: float = field(default=0.0, init=False)
    _torn_down: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if not self.hierarchies:
            raise LoadError("no cgroup hierarchy mounted")
        if self.layout is not None:
            if sum(g.size for g in self.layout) != self.n or min(g.size for g in self.layout) < 2:
                raise LoadError(f"the layout's groups do not hold {self.n} processes, 2 or more each")
            self.members = self.layout
            return
        if self.groups < 1 or self.n < 2 * self.groups:
            raise LoadError(f"need at least 2 processes per group (n={self.n}, groups={self.groups})")
        n_ns = round(self.groups * self.ns_fraction)
        base, rest = divmod(self.n, self.groups)
        # Namespaced groups are spread evenly over the indices (every 10th with the default fraction).
        ns_indices = {int(i * self.groups / n_ns) for i in range(n_ns)} if n_ns else set()
        self.members = [Group(i, base + (i < rest), i in ns_indices) for i in range(self.groups)]

    # -- paths ----------------------------------------------------------------------------------

    def group_path(self, group: Group) -> str:
        """The cgroup path of a group relative to each hierarchy's root, e.g. /cgscope-bench-1a2b/g007."""
        if group.path is not None:
            return f"/{self.name}{group.path}"
        width = max(3, len(str(self.groups - 1)))
        return f"/{self.name}/g{group.index:0{width}d}"

    def _dirs(self, group: Group) -> list[Path]:
        return [h.mountpoint / self.group_path(group).lstrip("/") for h in self.hierarchies]

    # -- build ----------------------------------------------------------------------------------

    def __enter__(self) -> Load:
        try:
            self.build()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.teardown()

    def build(self) -> None:
        start = time.perf_counter()
        _set_child_subreaper()
        for h in self.hierarchies:
            top = h.mountpoint / self.name
            top.mkdir()
            self.created.append(top)
        for g in self.members:
            for h, d in zip(self.hierarchies, self._dirs(g), strict=True):
                self._mkdir(h.mountpoint / self.name, d)
                _write_limits(d, g)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SPAWN": _SPAWN_SCRIPT, "LC_ALL": "C"}
        for g in self.members:
            procs_files = [str(d / "cgroup.procs") for d in self._dirs(g)]
            argv = ["sh", "-c", _GROUP_SCRIPT, "sh", str(g.size - 1), "1" if g.namespaced else "0"]
            g.leader = subprocess.Popen(
                [*argv, *procs_files],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: one killpg() ends the whole group
            )
        self._wait_ready()
        count = len(self.pids())
        if count != self.n:
            raise LoadError(f"expected {self.n} processes in the bench cgroups, found {count}")
        self.build_seconds = time.perf_counter() - start

    def _mkdir(self, top: Path, directory: Path) -> None:
        """`directory` and the parents below `top` it lacks (a profile's tree: kubepods/<qos>/pod<uid>)."""
        missing = [directory, *(p for p in directory.parents if p != top and top in p.parents)]
        for d in reversed(missing):
            if not d.is_dir():
                d.mkdir()
                self.created.append(d)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        pending: dict[int, Group] = {}
        with selectors.DefaultSelector() as sel:
            for g in self.members:
                assert g.leader is not None and g.leader.stdout is not None
                sel.register(g.leader.stdout, selectors.EVENT_READ, g)
                pending[g.index] = g
            while pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LoadError(f"{len(pending)} groups not ready after {self.ready_timeout:.0f} s")
                for key, _ in sel.select(remaining):
                    g = key.data
                    line = key.fileobj.readline().decode(errors="replace").strip()  # type: ignore[union-attr]
                    sel.unregister(key.fileobj)
                    key.fileobj.close()  # type: ignore[union-attr]
                    if line != "ready":
                        raise LoadError(f"group {self.group_path(g)} failed: {line or 'no output'}")
                    del pending[g.index]

    # -- introspection --------------------------------------------------------------------------

    def group_pids(self, group: Group) -> set[int]:
        """Processes in a group's cgroup (read from the first hierarchy, cgroup2 when mounted)."""
        procs = self._dirs(group)[0] / "cgroup.procs"
        try:
            return {int(x) for x in procs.read_text().split()}
        except FileNotFoundError:
            return set()

    def pids(self) -> set[int]:
        return set().union(*(self.group_pids(g) for g in self.members))

    def namespaced_groups(self) -> list[Group]:
        return [g for g in self.members if g.namespaced]

    # -- teardown -------------------------------------------------------------------------------

    def teardown(self, timeout: float = 30.0) -> None:
        """Kill what the bench started and remove its cgroups; idempotent, not interruptible."""
        if self._torn_down:
            return
        self._torn_down = True
        start = time.perf_counter()
        blocked = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            for g in self.members:
                if g.leader is not None and g.leader.returncode is None:
                    # The leader is our unreaped child, so its pid (= its pgid) cannot have been reused.
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(g.leader.pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
            for g in self.members:
                if g.leader is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        g.leader.wait(max(0.1, deadline - time.monotonic()))
            self._empty_cgroups(deadline)
            self._remove_dirs(deadline)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
            self.teardown_seconds = time.perf_counter() - start

    def _empty_cgroups(self, deadline: float) -> None:
        """Kill stragglers still listed in the bench's cgroups (all hierarchies) and reap orphans."""
        leaf_dirs = [d for g in self.members for d in self._dirs(g)]
        while True:
            _reap_orphans()
            left: set[int] = set()
            for d in leaf_dirs:
                with contextlib.suppress(FileNotFoundError):
                    left |= {int(x) for x in (d / "cgroup.procs").read_text().split()}
            if not left:
                return
            if time.monotonic() > deadline:
                self.log(f"warning: {len(left)} processes still in {self.name} cgroups")
                return
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def _remove_dirs(self, deadline: float) -> None:
        for d in reversed(self.created):  # children before their parent
            while True:
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY or time.monotonic() > deadline:
                        self.log(f"warning: cannot remove {d}: {e}")
                        break
                    _reap_orphans()
                    time.sleep(0.05)


def _write_limits(directory: Path, group: Group) -> None:
    """The group's CPU quota and memory limit, in whichever of cgroup v1's and v2's files its hierarchy
    offers (a cgroup2 tree without the controllers enabled offers neither)."""
    writes = (
        ("cpu.cfs_quota_us", group.quota_us),
        ("cpu.max", None if group.quota_us is None else f"{group.quota_us} 100000"),
        ("memory.limit_in_bytes", group.memory_limit),
        ("memory.max", group.memory_limit),
    )
    for name, value in writes:
        if value is not None and (directory / name).exists():
            (directory / name).write_text(str(value))


def remove_stale(hierarchies: list[Hierarchy], log: Callable[[str], None]) -> int:
    """Remove cgscope-bench-* cgroups left by a bench that was killed, and kill the processes in them.

    Only cgroups carrying the bench's prefix are touched: their members were started by a bench.
    Returns how many top-level cgroups were removed.
    """
    removed = 0
    for h in hierarchies:
        for top in sorted(h.mountpoint.glob(BENCH_PREFIX + "*")):
            if not top.is_dir():
                continue
            dirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
            for d in [*dirs, top]:
                for _ in range(100):
                    pids = [int(x) for x in (d / "cgroup.procs").read_text().split()]
                    if not pids:
                        break
                    for pid in pids:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                    time.sleep(0.05)
                    _reap_orphans()
                try:
                    d.rmdir()
                except OSError as e:
                    log(f"warning: cannot remove {d}: {e}")
            log(f"removed stale {top}")
            removed += 1
    return removed
