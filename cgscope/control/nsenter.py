"""`nsenter`: run a command inside a process's namespaces and cgroups, as `docker exec` runs one inside a
container (util-linux `nsenter -t PID -a` enters the namespaces only).

The calling process never changes namespace or cgroup: it forks a child that joins and enters them, and
that child forks the command, because joining a pid namespace only affects children (setns(2)). The steps:

1. Read the target: its namespaces, cgroups, capability bounding set and environment, and root's home
   and shell from its /etc/passwd, looked up inside its root (fs/inroot.py). Open every
   /proc/PID/ns/TYPE, its root and working directory, and the cgroup.procs files to join before
   entering anything: once in the target's mount namespace, the host's /proc may be out of reach.
2. The child writes its pid to each cgroup.procs (joining.py), then calls setns() in a safe order: the
   user namespace first (in it, root of that namespace may join the others it owns), then cgroup, ipc,
   uts, net, pid, mnt, time. A namespace the caller is in already is skipped (joining one's own user
   namespace fails with EINVAL). Supplementary groups are dropped before entering a user namespace, as
   util-linux does: inside one whose setgroups is "deny" (user_namespaces(7)) setgroups() fails.
3. With the mount namespace, take the target's root (fchdir + chroot) and working directory.
4. Fork the command as the terminal's foreground job (foreground.py), drop it to the target's bounding
   set and no_new_privs (privileges.py), exec it with a clean environment, wait, pass its status on.

Every descriptor is opened O_CLOEXEC and closed once used, so the command inherits none of them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cgscope.control import foreground
from cgscope.control.errors import InvalidRequest
from cgscope.control.joining import cgroups_to_join
from cgscope.control.privileges import Dropper, Privileges
from cgscope.errors import AccessDenied, CgscopeError, ProcessGone
from cgscope.fs import inroot, procfs
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.security import read_security
from cgscope.fs.uts import setns_call
from cgscope.model.collect import Collector
from cgscope.model.target import user_process

# setns() order; CLONE_NEW* flags from include/uapi/linux/sched.h.
ORDER = ("user", "cgroup", "ipc", "uts", "net", "pid", "mnt", "time")
CLONE_FLAGS = {
    "user": 0x10000000,
    "cgroup": 0x02000000,
    "ipc": 0x08000000,
    "uts": 0x04000000,
    "net": 0x40000000,
    "pid": 0x20000000,
    "mnt": 0x00020000,
    "time": 0x00000080,
}
FAILED = 125  # exit status of the entering child when it could not enter or exec (as env(1) and chroot(1))
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # runc's, when init has none


@dataclass(frozen=True)
class Entry:
    """What `run` does: join `cgroups`, enter `namespaces` of `pid` (in ORDER), run `argv` with `env`."""

    pid: int
    start_ticks: int
    namespaces: tuple[str, ...]
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cgroups: tuple[Path, ...] = ()  # the cgroup.procs files the child writes itself into
    privileges: Privileges | None = None  # what the command drops to; None keeps cgscope's own


def parse_namespaces(text: str) -> tuple[str, ...]:
    """ "mnt,uts,net" -> the types, in setns order; refuses unknown names."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in ORDER]
    if unknown or not names:
        raise InvalidRequest(f"--ns {text!r}: give namespace types among {','.join(ORDER)}")
    return tuple(n for n in ORDER if n in names)


def prepare(
    host: HostRoot,
    pid: int,
    namespaces: Sequence[str] = ORDER,
    argv: Sequence[str] = (),
    *,
    keep_cgroup: bool = False,
    keep_caps: bool = False,
) -> Entry:
    """Check the target and pick the namespaces to enter: those of `namespaces` the kernel has and the
    caller is not in already. With no `argv`, the login shell root has in the target's /etc/passwd if
    the mount namespace is entered, else $SHELL; /bin/sh failing those. `keep_cgroup` stays in cgscope's
    cgroups, `keep_caps` keeps its capabilities (util-linux's behaviour)."""
    collector = Collector(host)
    try:
        found = collector.process(pid)
    except ProcessGone:
        raise ProcessGone(f"no such process: {pid} (see 'cgscope ps')") from None
    target = user_process(found, "nsenter")
    me = collector.process(os.getpid())
    unreadable = [
        t
        for t in namespaces
        if target.namespaces.get(t) is None and os.path.lexists(f"{host.proc}/{pid}/ns/{t}")
    ]
    if unreadable:
        raise AccessDenied(
            f"cannot read /proc/{pid}/ns/{unreadable[0]}: permission denied (nsenter needs root, and the "
            "process must let itself be traced: not dumpable processes refuse even root)"
        )
    theirs = target.namespaces
    entered = tuple(
        t
        for t in ORDER
        if t in namespaces and theirs.get(t) is not None and theirs[t] != me.namespaces.get(t)
    )
    if "mnt" in namespaces:
        entered = tuple(t for t in ORDER if t in (*entered, "mnt"))  # its root and cwd, even in our mnt ns
    command, env = _command(host.proc, pid, "mnt" in entered, tuple(argv))
    return Entry(
        pid,
        target.start_ticks,
        entered,
        command,
        env,
        cgroups=() if keep_cgroup else cgroups_to_join(host, target, me.cgroups),
        privileges=None if keep_caps else _privileges(host.proc, pid),
    )


def _command(
    proc: Path, pid: int, own_root: bool, argv: tuple[str, ...]
) -> tuple[tuple[str, ...], dict[str, str]]:
    """The command and its environment. In the target's root: its PATH and HOME (from its environment,
    else root's passwd entry there), the caller's TERM, nothing else of the caller's (a venv's PATH, a
    PS1). Without the mount namespace, the caller's environment, as util-linux passes it."""
    if not own_root:
        return argv or (os.environ.get("SHELL") or "/bin/sh",), dict(os.environ)
    with inroot.root_of(proc, pid) as root:
        account = inroot.account(root, 0)
        shell = account.shell if account is not None and account.shell.startswith("/") else None
        if not argv:
            argv = (shell if shell is not None and inroot.is_file_in_root(root, shell) else "/bin/sh",)
    theirs: dict[str, str] = {}
    with contextlib.suppress(AccessDenied):
        theirs = procfs.read_environ(proc, pid)
    env = {
        "PATH": theirs.get("PATH") or DEFAULT_PATH,
        "HOME": theirs.get("HOME") or (account.home if account is not None and account.home else "/"),
    }
    if "TERM" in os.environ:
        env["TERM"] = os.environ["TERM"]
    return argv, env


def _privileges(proc: Path, pid: int) -> Privileges:
    security = read_security(proc, pid)
    return Privileges(security.cap_bounding, bool(security.no_new_privs))


def run(host: HostRoot, entry: Entry) -> int:
    """Run the entry's command in the target's cgroups and namespaces; returns its exit status (128 + N
    when a signal N killed it). Raises CgscopeError when it cannot join, enter or run the command."""
    tools = _Tools(setns_call(), Dropper() if entry.privileges is not None else None, foreground.terminal())
    opened = _open_all(host, entry)
    with _foreground_signals():  # from before the fork: the children inherit them until the exec
        try:
            read_end, write_end = os.pipe2(os.O_CLOEXEC)  # the children report failures here
            for stream in (sys.stdout, sys.stderr):
                stream.flush()  # or the child would write what the parent had buffered a second time
            child = os.fork()
            if child == 0:
                try:  # the child must never return into the caller's code, whatever happens
                    os.close(read_end)
                    _child(entry, tools, opened, write_end)
                finally:
                    os._exit(FAILED)
        finally:
            opened.close()
        os.close(write_end)
        _, status = os.waitpid(child, 0)
        if tools.tty is not None:  # whatever became of the children, the terminal is cgscope's again
            with contextlib.suppress(OSError):
                foreground.give(tools.tty, os.getpgrp())
    with os.fdopen(read_end, "rb") as pipe:  # every writer has exited or exec'd: this reads to the end
        failure = pipe.read().decode(errors="replace").strip()
    if failure:
        raise CgscopeError(failure)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


@dataclass(frozen=True)
class _Tools:
    """What the child needs, resolved in the parent."""

    setns: Callable[[int, int], None]
    dropper: Dropper | None
    tty: int | None  # the terminal to give the command, if cgscope holds its foreground


@dataclass
class _Opened:
    """The target's namespace files, root and working directory, and the cgroup.procs files to join
    (named as the host names them), opened before entering any."""

    namespaces: dict[str, int]
    cgroups: list[tuple[int, str]] = field(default_factory=list)
    root: int | None = None
    cwd: int | None = None

    def close(self) -> None:
        for fd in [*self.namespaces.values(), *(fd for fd, _ in self.cgroups), self.root, self.cwd]:
            if fd is not None:
                os.close(fd)
        self.namespaces, self.cgroups, self.root, self.cwd = {}, [], None, None


def _open_all(host: HostRoot, entry: Entry) -> _Opened:
    """Open what the child needs; check the pid still names the same process afterwards (pids are
    reused), so the descriptors are the target's."""
    opened = _Opened({})
    base = f"{host.proc}/{entry.pid}"
    try:
        for procs in entry.cgroups:  # O_NOFOLLOW, as the writer opens every file it writes
            fd = os.open(procs, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            opened.cgroups.append((fd, host.shown(procs.parent)))
        for ns in entry.namespaces:
            opened.namespaces[ns] = os.open(f"{base}/ns/{ns}", os.O_RDONLY | os.O_CLOEXEC)
        if "mnt" in entry.namespaces:
            opened.root = os.open(f"{base}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            opened.cwd = os.open(f"{base}/cwd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        if procfs.read_stat(host.proc, entry.pid).start_ticks != entry.start_ticks:
            raise ProcessGone(f"process {entry.pid} exited while cgscope opened its namespaces")
    except OSError as exc:
        opened.close()
        if exc.errno in (errno.ENOENT, errno.ESRCH):
            raise ProcessGone(f"process {entry.pid} has exited") from None
        raise AccessDenied(f"cannot open {exc.filename}: {exc.strerror} (nsenter needs root)") from None
    except ProcessGone:
        opened.close()
        raise
    return opened


def _child(entry: Entry, tools: _Tools, opened: _Opened, report: int) -> None:
    """In the forked child: join, enter, fork the command, wait, exit with its status. Never returns."""
    step = "setns"
    try:
        for fd, where in opened.cgroups:
            step = f"joining the cgroup {where} of process {entry.pid}"
            os.write(fd, b"%d\n" % os.getpid())
        groups_dropped = "user" in opened.namespaces and _drop_groups()
        for ns in ORDER:
            if ns in opened.namespaces:
                step = f"entering the {ns} namespace of process {entry.pid}"
                fd = opened.namespaces.pop(ns)
                tools.setns(fd, CLONE_FLAGS[ns])
                os.close(fd)
                if ns == "user":  # become root of the entered user namespace, as nsenter(1) does
                    if not groups_dropped:
                        os.setgroups([])
                    os.setgid(0)
                    os.setuid(0)
        if opened.root is not None and opened.cwd is not None:
            step = f"changing to the root and working directory of process {entry.pid}"
            os.fchdir(opened.root)
            os.chroot(".")
            os.chdir("/")
            os.fchdir(opened.cwd)
        opened.close()
        step = f"starting {entry.argv[0]} in the target's namespaces"
        status = foreground.spawn(lambda: _exec(entry, tools.dropper, report), tools.tty, FAILED)
    except OSError as exc:
        os.write(report, f"{step}: {exc.strerror}\n".encode())
        os._exit(FAILED)
    if os.WIFSIGNALED(status):  # die the same way, so the caller sees the signal
        killer = os.WTERMSIG(status)
        signal.signal(killer, signal.SIG_DFL)
        os.kill(os.getpid(), killer)
        os._exit(128 + killer)
    os._exit(os.waitstatus_to_exitcode(status))


def _drop_groups() -> bool:
    """Drop the supplementary groups while still outside the user namespace; False if not allowed, and
    the child tries again inside (util-linux calls setgroups() on both sides, failing if both fail)."""
    try:
        os.setgroups([])
    except PermissionError:
        return False
    return True


def _exec(entry: Entry, dropper: Dropper | None, report: int) -> None:
    """In the command's child: drop privileges and exec; returns only after reporting why not."""
    try:
        if dropper is not None and entry.privileges is not None:
            dropper.drop(entry.privileges)
    except OSError as exc:
        os.write(report, f"dropping to the capabilities of process {entry.pid}: {exc.strerror}\n".encode())
        return
    try:
        os.execvpe(entry.argv[0], list(entry.argv), dict(entry.env))
    except OSError as exc:
        os.write(report, f"cannot run {entry.argv[0]} in the target's namespaces: {exc.strerror}\n".encode())


@contextlib.contextmanager
def _foreground_signals() -> Iterator[None]:
    """While the command runs, ^C and ^\\ are its own (as system(3) does), and a stop is a plain stop:
    not the dashboard's SIGTSTP handler, which would suspend it on its own terms."""
    saved = []
    if threading.current_thread() is threading.main_thread():
        wanted = {
            signal.SIGINT: signal.SIG_IGN,
            signal.SIGQUIT: signal.SIG_IGN,
            signal.SIGTSTP: signal.SIG_DFL,
        }
        saved = [(sig, signal.signal(sig, handler)) for sig, handler in wanted.items()]
    try:
        yield
    finally:
        for sig, handler in saved:
            signal.signal(sig, handler)
