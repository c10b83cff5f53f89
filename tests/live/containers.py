"""Helpers for live tests: test cgroups, namespaced process trees and runc containers.

Everything created here is named ``cgscope-test-<random>`` and removed again on exit, even when the
body raises. Only processes started here (and their descendants) are ever signalled.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

NS_TYPES = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")
PREFIX = "cgscope-test-"
DEFAULT_SCRIPT = "sleep 1000 & sleep 1000 & wait"
RUNC_BUSYBOX = Path("/bin/busybox")  # statically linked, from Debian's busybox-static

T = TypeVar("T")


def unique_name() -> str:
    return PREFIX + secrets.token_hex(4)


def wait_until(probe: Callable[[], T | None], timeout: float = 5.0, what: str = "condition") -> T:
    """Poll ``probe`` until it returns something other than None/False; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


# --- processes and namespaces ---------------------------------------------------------------------


def ns_inodes(pid: int | str = "self") -> dict[str, int]:
    """Namespace type -> inode, from the ``/proc/PID/ns/TYPE`` links (``"net:[4026531840]"``)."""
    out: dict[str, int] = {}
    for ns in NS_TYPES:
        link = os.readlink(f"/proc/{pid}/ns/{ns}")
        out[ns] = int(link[link.index("[") + 1 : -1])
    return out


def proc_status(pid: int) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def nspid_chain(pid: int) -> list[int]:
    """The ``NSpid`` line: the pid in each pid namespace, outermost (host) first."""
    return [int(p) for p in proc_status(pid)["NSpid"].split()]


def start_time(pid: int) -> int:
    """Field 22 of /proc/PID/stat (clock ticks since boot); (pid, start time) names a process."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[19])


def pid_alive(pid: int, started: int | None = None) -> bool:
    """True while ``pid`` exists (zombies count as gone) and, if given, has the same start time."""
    try:
        if proc_status(pid)["State"].startswith("Z"):
            return False
        return started is None or start_time(pid) == started
    except (FileNotFoundError, ProcessLookupError):
        return False


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def pid_ns_members(init_pid: int) -> dict[int, int]:
    """Host pid -> pid inside, for every process in the pid namespace whose init is ``init_pid``."""
    target = os.readlink(f"/proc/{init_pid}/ns/pid")
    members: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError):
            if os.readlink(entry / "ns" / "pid") == target:
                members[int(entry.name)] = nspid_chain(int(entry.name))[-1]
    return members


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, by /proc/PID/task/TID/children."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            todo += children(p)
    return out


def wait_for_members(
    init_pid: int, count: int, comm: str | None = None, timeout: float = 5.0
) -> dict[int, int]:
    """Wait until ``init_pid`` and its descendants number ``count``; if ``comm`` is given, every one
    but init must also have exec'd it (so forked shells have become their command). Returns the
    members of the pid namespace (one /proc scan, as polling that is slow with many processes)."""

    def probe() -> bool:
        if not pid_alive(init_pid):
            raise RuntimeError(f"container init {init_pid} exited")
        tree = descendants(init_pid)
        if len(tree) != count:
            return False
        with contextlib.suppress(FileNotFoundError):
            return comm is None or all(Path(f"/proc/{p}/comm").read_text().strip() == comm for p in tree[1:])
        return False

    wait_until(probe, timeout, f"{count} processes under {init_pid}")
    return pid_ns_members(init_pid)


def kill_and_reap(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """SIGKILL a child this process started (if still running) and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
    proc.wait(timeout)


# --- cgroup hierarchies and test cgroups --------------------------------------------------------


@dataclass(frozen=True)
class Hierarchy:
    """One mounted cgroup hierarchy. ``key`` is its controller field as in /proc/PID/cgroup:
    ``"cpu"``, ``"name=systemd"``, ``"cpu,cpuacct"`` for v1, ``""`` for cgroup2."""

    key: str
    mountpoint: Path
    version: int


def cgroup_hierarchies(mountinfo: Path = Path("/proc/self/mountinfo")) -> list[Hierarchy]:
    """Every cgroup hierarchy mounted at its root, once each (first mount wins)."""
    known = {line.split()[0] for line in Path("/proc/cgroups").read_text().splitlines()[1:]}
    found: dict[str, Hierarchy] = {}
    for line in mountinfo.read_text().splitlines():
        pre, _, post = line.partition(" - ")
        fields, (fstype, _source, options) = pre.split(), post.split()[:3]
        root, mountpoint = fields[3], Path(fields[4].replace("\\040", " "))
        if root != "/" or fstype not in ("cgroup", "cgroup2"):
            continue
        if fstype == "cgroup2":
            key, version = "", 2
        else:
            opts = options.split(",")
            key = ",".join(o for o in opts if o in known or o.startswith("name="))
            version = 1
        found.setdefault(key, Hierarchy(key, mountpoint, version))
    return list(found.values())


def cgroup_procs(directory: Path) -> set[int]:
    return {int(p) for p in (directory / "cgroup.procs").read_text().split()}


def _rmdir_cgroup(directory: Path, timeout: float) -> None:
    """rmdir a cgroup, retrying while exiting tasks still populate it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                raise OSError(
                    exc.errno, f"{exc.strerror}; cgroup.procs={cgroup_procs(directory)}", str(directory)
                ) from exc
        time.sleep(0.02)


@dataclass
class TestCgroup:
    """A cgroup ``/<name>`` created in several hierarchies. ``dirs`` maps hierarchy key -> directory."""

    __test__ = False  # not a pytest test class

    name: str
    dirs: dict[str, Path] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return "/" + self.name

    def procs_files(self) -> list[Path]:
        return [d / "cgroup.procs" for d in self.dirs.values()]

    def remove(self, timeout: float = 5.0) -> None:
        """rmdir every directory; raise the first error only after trying them all."""
        errors: list[OSError] = []
        for d in self.dirs.values():
            try:
                _rmdir_cgroup(d, timeout)
            except OSError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


def create_test_cgroup(name: str | None = None, hierarchies: list[Hierarchy] | None = None) -> TestCgroup:
    """Create ``/<name>`` directly under the root of each hierarchy (all mounted ones by default).
    A v1 cpuset gets its parent's cpus and mems, without which it cannot hold tasks."""
    cg = TestCgroup(name or unique_name())
    try:
        for h in hierarchies if hierarchies is not None else cgroup_hierarchies():
            d = h.mountpoint / cg.name
            d.mkdir()
            cg.dirs[h.key] = d
            if h.version == 1 and "cpuset" in h.key.split(","):
                for f in ("cpuset.cpus", "cpuset.mems"):
                    (d / f).write_text((h.mountpoint / f).read_text())
    except BaseException:
        cg.remove()
        raise
    return cg


@contextlib.contextmanager
def temp_cgroup(name: str | None = None) -> Iterator[TestCgroup]:
    """A test cgroup in every hierarchy for the duration of the block."""
    cg = create_test_cgroup(name)
    try:
        yield cg
    finally:
        cg.remove()


def leftover_test_cgroups() -> list[Path]:
    """Directories named like ours directly under any hierarchy root (should be none after a test)."""
    return [d for h in cgroup_hierarchies() for d in h.mountpoint.glob(PREFIX + "*")]


# --- a bare container: unshare in its own cgroups ---------------------------------------------------


@dataclass(frozen=True)
class BareContainer:
    name: str  # the cgroup name, "cgscope-test-<hex>"
    init_pid: int  # host pid of pid 1 in the new pid namespace
    member_pids: frozenset[int]  # host pids of every process in the new pid namespace, init included
    nspids: dict[int, int]  # host pid -> pid inside
    cgroup_path: str  # "/cgscope-test-<hex>", the same in every hierarchy
    namespaces: dict[str, int]  # type -> inode, for init
    host_namespaces: dict[str, int]  # type -> inode, for this (host) process
    unshare_pid: int  # host pid of the unshare process (host pid namespace, parent of init)
    cgroup: TestCgroup  # directories per hierarchy


@contextlib.contextmanager
def bare_container(
    script: str = DEFAULT_SCRIPT,
    members: int = 3,
    member_comm: str | None = "sleep",
    timeout: float = 5.0,
    cgroup: TestCgroup | None = None,
) -> Iterator[BareContainer]:
    """Run ``sh -c SCRIPT`` as pid 1 of new pid, mount (with /proc), uts, ipc and net namespaces,
    in a fresh test cgroup in every hierarchy (or in ``cgroup``, which the caller removes); wait until
    ``members`` processes (init included) live in the pid namespace, each non-init one running
    ``member_comm``."""
    # stderr goes to a file, not a pipe: the container inherits it and may write a lot.
    with tempfile.TemporaryFile() as err:
        cg = cgroup or create_test_cgroup()
        proc: subprocess.Popen[bytes] | None = None
        init: tuple[int, int] | None = None  # (pid, start time)
        try:
            # The wrapper joins the cgroups, then execs unshare, so everything it forks is inside.
            joins = "".join(f"echo $$ > '{f}' && " for f in cg.procs_files())
            wrapper = f'{joins}exec unshare --pid --fork --mount-proc --uts --ipc --net sh -c "$1"'
            proc = subprocess.Popen(
                ["sh", "-c", wrapper, "sh", script],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            pid = proc.pid

            def find_init() -> int | None:
                if proc.poll() is not None:
                    err.seek(0)
                    raise RuntimeError(
                        f"unshare exited with {proc.returncode}: {err.read().decode().strip()}"
                    )
                try:
                    if Path(f"/proc/{pid}/comm").read_text().strip() != "unshare":
                        return None
                    kids = children(pid)
                except FileNotFoundError:
                    return None
                return kids[0] if kids else None

            init_pid = wait_until(find_init, timeout, "the container's init")
            init = (init_pid, start_time(init_pid))
            nspids = wait_for_members(init_pid, members, member_comm, timeout)
            yield BareContainer(
                name=cg.name,
                init_pid=init_pid,
                member_pids=frozenset(nspids),
                nspids=nspids,
                cgroup_path=cg.path,
                namespaces=ns_inodes(init_pid),
                host_namespaces=ns_inodes(),
                unshare_pid=pid,
                cgroup=cg,
            )
        finally:
            try:
                if init is not None and pid_alive(*init):
                    os.kill(init[0], signal.SIGKILL)  # kills the whole pid namespace
                if proc is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout)  # unshare exits once init is gone
                    kill_and_reap(proc)
            finally:
                if cgroup is None:
                    cg.remove()


# --- a runc container ---------------------------------------------------------------------------


RUNC_STATE_ROOT = Path("/run/runc")


@dataclass(frozen=True)
class RuncContainer:
    id: str  # runc container id, equal to the cgroup name "cgscope-test-<hex>"
    init_pid: int  # host pid of the container's pid 1
    member_pids: frozenset[int]  # host pids of every process in its pid namespace, init included
    nspids: dict[int, int]  # host pid -> pid inside
    cgroup_path: str  # linux.cgroupsPath, "/cgscope-test-<hex>"
    bundle: Path  # the OCI bundle (config.json, rootfs/)
    state_file: Path  # /run/runc/<id>/state.json
    namespaces: dict[str, int]  # type -> inode, for init
    host_namespaces: dict[str, int]  # type -> inode, for this (host) process


def is_static_elf(path: Path) -> bool:
    """True for a 64-bit little-endian ELF without a PT_INTERP (dynamic loader) program header."""
    data = path.read_bytes()
    if data[:6] != b"\x7fELF\x02\x01":
        return False
    phoff = int.from_bytes(data[0x20:0x28], "little")
    size, count = (int.from_bytes(data[o : o + 2], "little") for o in (0x36, 0x38))
    return all(
        int.from_bytes(data[phoff + i * size : phoff + i * size + 4], "little") != 3 for i in range(count)
    )


def build_bundle(bundle: Path, args: list[str], cgroups_path: str) -> None:
    """A minimal OCI bundle: busybox rootfs and ``runc spec``'s config, edited."""
    rootfs = bundle / "rootfs"
    for sub in ("bin", "proc", "sys", "dev", "tmp"):
        (rootfs / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy2(RUNC_BUSYBOX, rootfs / "bin" / "busybox")
    for applet in ("sh", "sleep", "cat", "ls", "ps"):
        (rootfs / "bin" / applet).symlink_to("busybox")
    subprocess.run(["runc", "spec"], cwd=bundle, check=True, capture_output=True)
    config_file = bundle / "config.json"
    config = json.loads(config_file.read_text())
    config["process"]["args"] = args
    config["process"]["terminal"] = False
    config["linux"]["cgroupsPath"] = cgroups_path
    config_file.write_text(json.dumps(config, indent=2))


def runc_cgroup_dirs(state_file: Path) -> dict[str, Path]:
    """runc's own record of its cgroups (state.json ``cgroup_paths``: key "" is cgroup2)."""
    paths: dict[str, str] = json.loads(state_file.read_text())["cgroup_paths"]
    return {k: Path(v) for k, v in paths.items()}


@contextlib.contextmanager
def runc_container(
    script: str = DEFAULT_SCRIPT, members: int = 3, member_comm: str | None = "sleep", timeout: float = 10.0
) -> Iterator[RuncContainer]:
    """``runc run -d`` a busybox container whose pid 1 is ``sh -c SCRIPT``, with cgroupsPath ``/<id>``."""
    cid = unique_name()
    cgroups_path = "/" + cid
    started = False
    with tempfile.TemporaryDirectory(prefix=PREFIX) as tmp:
        bundle = Path(tmp)
        pid_file, log = bundle / "init.pid", bundle / "runc.log"
        try:
            build_bundle(bundle, ["sh", "-c", script], cgroups_path)
            started = True  # from here on a half-created container may exist
            with log.open("wb") as err:
                rc = subprocess.run(
                    ["runc", "run", "-d", "--pid-file", str(pid_file), cid],
                    check=False,
                    cwd=bundle,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    timeout=timeout,
                ).returncode
            if rc != 0:
                raise RuntimeError(f"runc run exited with {rc}: {log.read_text().strip()}")
            init_pid = int(pid_file.read_text())
            nspids = wait_for_members(init_pid, members, member_comm, timeout)
            yield RuncContainer(
                id=cid,
                init_pid=init_pid,
                member_pids=frozenset(nspids),
                nspids=nspids,
                cgroup_path=cgroups_path,
                bundle=bundle,
                state_file=RUNC_STATE_ROOT / cid / "state.json",
                namespaces=ns_inodes(init_pid),
                host_namespaces=ns_inodes(),
            )
        finally:
            if started:
                remove_runc_container(cid, timeout)


def remove_runc_container(cid: str, timeout: float = 10.0) -> None:
    """Kill and delete a container, then rmdir any ``/<cid>`` cgroup runc left behind."""
    for cmd in (["runc", "kill", cid, "KILL"], ["runc", "delete", "-f", cid]):
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(cmd, check=False, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    TestCgroup(cid, {h.key: h.mountpoint / cid for h in cgroup_hierarchies()}).remove(timeout)
