"""`nsenter`: run a command inside a process's namespaces, as util-linux `nsenter -t PID -a` does.

The calling process never changes namespace: it forks a child that enters them, and that child forks
the command, because joining a pid namespace only affects children (setns(2)). The steps:

1. Open every /proc/PID/ns/TYPE, and /proc/PID/root and /proc/PID/cwd, before entering any: once in
   the target's mount namespace, the host's /proc may no longer be reachable.
2. setns() in a safe order: the user namespace first (in it, root of that namespace may join the
   others it owns), then cgroup, ipc, uts, net, pid, mnt, time. A namespace the caller is in already
   is skipped (joining one's own user namespace fails with EINVAL).
3. With the mount namespace, take the target's root (fchdir + chroot) and working directory.
4. Fork (into the pid namespace), exec, wait, and pass the exit status on.

Every descriptor is opened O_CLOEXEC and closed once used, so the command inherits none of them.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cgscope.control.errors import InvalidRequest
from cgscope.errors import AccessDenied, CgscopeError, ProcessGone
from cgscope.fs import procfs
from cgscope.fs.controlfiles import login_shell

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


def setns_function() -> Callable[[int, int], None]:
    """setns(2): os.setns from Python 3.12 on, else libc's through ctypes. Resolved in the parent:
    loading a library in a child forked from a threaded process (the dashboard) could deadlock."""
    native: Callable[[int, int], None] | None = getattr(os, "setns", None)
    if native is not None:
        return native
    libc_setns = ctypes.CDLL(None, use_errno=True).setns

    def call(fd: int, nstype: int) -> None:
        if libc_setns(fd, nstype) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))

    return call


@dataclass(frozen=True)
class Entry:
    """What `run` does: enter `namespaces` of `pid` (in ORDER) and run `argv`."""

    pid: int
    start_ticks: int
    namespaces: tuple[str, ...]
    argv: tuple[str, ...]


def parse_namespaces(text: str) -> tuple[str, ...]:
    """ "mnt,uts,net" -> the types, in setns order; refuses unknown names."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in ORDER]
    if unknown or not names:
        raise InvalidRequest(f"--ns {text!r}: give namespace types among {','.join(ORDER)}")
    return tuple(n for n in ORDER if n in names)


def prepare(proc: Path, pid: int, namespaces: Sequence[str] = ORDER, argv: Sequence[str] = ()) -> Entry:
    """Check the target and pick the namespaces to enter: those of `namespaces` the kernel has and the
    caller is not in already. With no `argv`, the target's login shell for root (from its /etc/passwd)
    if the mount namespace is entered, else $SHELL; /bin/sh failing those."""
    try:
        start = procfs.read_stat(proc, pid).start_ticks
        theirs = procfs.read_ns(proc, pid, tuple(namespaces))
    except ProcessGone:
        raise ProcessGone(f"no such process: {pid} (see 'cgscope ps')") from None
    ours = procfs.read_ns(proc, os.getpid(), tuple(namespaces))
    unreadable = [t for t in namespaces if theirs.get(t) is None and os.path.lexists(f"{proc}/{pid}/ns/{t}")]
    if unreadable:
        raise AccessDenied(
            f"cannot read /proc/{pid}/ns/{unreadable[0]}: permission denied (nsenter needs root, and the "
            "process must let itself be traced: not dumpable processes refuse even root)"
        )
    entered = tuple(
        t for t in ORDER if t in namespaces and theirs.get(t) is not None and theirs[t] != ours[t]
    )
    if "mnt" in namespaces:
        entered = tuple(t for t in ORDER if t in (*entered, "mnt"))  # its root and cwd, even in our mnt ns
    if not argv:
        shell = None
        if "mnt" in entered:
            found = login_shell(proc / str(pid) / "root/etc/passwd", 0)
            if found and os.path.lexists(f"{proc}/{pid}/root{found}"):
                shell = found
        else:
            shell = os.environ.get("SHELL")
        argv = (shell or "/bin/sh",)
    return Entry(pid, start, entered, tuple(argv))


def run(proc: Path, entry: Entry) -> int:
    """Run the entry's command in the target's namespaces; returns its exit status (128 + N when a
    signal N killed it). Raises CgscopeError when the namespaces cannot be entered or the command run."""
    setns = setns_function()
    opened = _open_all(proc, entry)
    with _ignoring_interrupts():  # from before the fork: the children inherit it until the exec
        try:
            read_end, write_end = os.pipe2(os.O_CLOEXEC)  # the children report failures here
            for stream in (sys.stdout, sys.stderr):
                stream.flush()  # or the child would write what the parent had buffered a second time
            child = os.fork()
            if child == 0:
                try:  # the child must never return into the caller's code, whatever happens
                    os.close(read_end)
                    _child(entry, setns, opened, write_end)
                finally:
                    os._exit(FAILED)
        finally:
            opened.close()
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            failure = pipe.read().decode(errors="replace").strip()
        _, status = os.waitpid(child, 0)
    if failure:
        raise CgscopeError(failure)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


@dataclass
class _Opened:
    """The target's namespace files, root and working directory, opened before entering any."""

    namespaces: dict[str, int]
    root: int | None = None
    cwd: int | None = None

    def close(self) -> None:
        for fd in [*self.namespaces.values(), self.root, self.cwd]:
            if fd is not None:
                os.close(fd)
        self.namespaces, self.root, self.cwd = {}, None, None


def _open_all(proc: Path, entry: Entry) -> _Opened:
    """Open the namespace files and, for mnt, the root and cwd; check the pid still names the same
    process afterwards (pids are reused), so the descriptors are the target's."""
    opened = _Opened({})
    base = f"{proc}/{entry.pid}"
    try:
        for ns in entry.namespaces:
            opened.namespaces[ns] = os.open(f"{base}/ns/{ns}", os.O_RDONLY | os.O_CLOEXEC)
        if "mnt" in entry.namespaces:
            opened.root = os.open(f"{base}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            opened.cwd = os.open(f"{base}/cwd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        if procfs.read_stat(proc, entry.pid).start_ticks != entry.start_ticks:
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


def _child(entry: Entry, setns: Callable[[int, int], None], opened: _Opened, report: int) -> None:
    """In the forked child: enter, fork the command, wait, exit with its status. Never returns."""
    step = "setns"
    try:
        for ns in ORDER:
            if ns in opened.namespaces:
                step = f"entering the {ns} namespace of process {entry.pid}"
                fd = opened.namespaces.pop(ns)
                setns(fd, CLONE_FLAGS[ns])
                os.close(fd)
                if ns == "user":  # become root of the entered user namespace, as nsenter(1) does
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
        status = _spawn(entry.argv, report)
    except OSError as exc:
        os.write(report, f"{step}: {exc.strerror}\n".encode())
        os._exit(FAILED)
    os._exit(status)


def _spawn(argv: Sequence[str], report: int) -> int:
    command = os.fork()
    if command == 0:
        try:
            for sig in (signal.SIGINT, signal.SIGQUIT):
                signal.signal(sig, signal.SIG_DFL)
            os.execvp(argv[0], list(argv))
        except OSError as exc:
            os.write(report, f"cannot run {argv[0]} in the target's namespaces: {exc.strerror}\n".encode())
        finally:
            os._exit(FAILED)
    os.close(report)
    for sig in (signal.SIGINT, signal.SIGQUIT):  # the command gets the terminal's signals, not us
        signal.signal(sig, signal.SIG_IGN)
    while True:
        _, status = os.waitpid(command, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            break
        os.kill(os.getpid(), signal.SIGSTOP)  # stopped (^Z): stop too, and resume it when resumed
        os.kill(command, signal.SIGCONT)
    if os.WIFSIGNALED(status):  # die the same way, so the caller sees the signal
        killer = os.WTERMSIG(status)
        signal.signal(killer, signal.SIG_DFL)
        os.kill(os.getpid(), killer)
        return 128 + killer
    return os.waitstatus_to_exitcode(status)


@contextlib.contextmanager
def _ignoring_interrupts() -> Iterator[None]:
    """While the command runs in the foreground, ^C and ^\\ are its own (as system(3) does)."""
    saved = []
    if threading.current_thread() is threading.main_thread():
        saved = [(sig, signal.signal(sig, signal.SIG_IGN)) for sig in (signal.SIGINT, signal.SIGQUIT)]
    try:
        yield
    finally:
        for sig, handler in saved:
            signal.signal(sig, handler)
