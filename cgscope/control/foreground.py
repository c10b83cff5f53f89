"""Running a command in the foreground of the caller's terminal, as a job-control shell runs one.

An interactive shell inside a pid namespace puts itself in a process group of its own and takes the
terminal (tcsetpgrp). When it exits it can hand the terminal back only to a group it can see, and the
caller's group lies outside its namespace: the terminal stays with a dead group, and the caller, now in
the background, is stopped (SIGTTOU, SIGTTIN) the moment it touches the terminal again (credentials(7),
"job control"). So cgscope gives the terminal to the command's own process group and takes it back when
the command exits or stops. tcsetpgrp() from a background group raises SIGTTOU unless the caller blocks
it (tcsetpgrp(3)); `give` blocks it for the call.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable

# Python ignores SIGPIPE and SIGXFSZ for itself; an ignored signal stays ignored across exec.
RESET = (
    signal.SIGINT,
    signal.SIGQUIT,
    signal.SIGTSTP,
    signal.SIGTTIN,
    signal.SIGTTOU,
    signal.SIGPIPE,
    signal.SIGXFSZ,
)


def terminal() -> int | None:
    """fd 0 when stdin and stdout are one terminal whose foreground is cgscope's process group; else
    None, and the command stays in cgscope's group (a pipe, a file, or a background job: the shell
    that started cgscope keeps the terminal)."""
    try:
        if os.isatty(0) and os.isatty(1) and os.fstat(0).st_rdev == os.fstat(1).st_rdev:
            return 0 if os.tcgetpgrp(0) == os.getpgrp() else None
    except OSError:
        pass
    return None


def give(tty: int, pgid: int) -> None:
    """Make `pgid` the terminal's foreground process group, from the background too."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        os.tcsetpgrp(tty, pgid)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _give_quietly(tty: int, pgid: int) -> None:
    """`give`, where the group may be gone already (the command exited first: ESRCH, EPERM)."""
    with contextlib.suppress(OSError):
        give(tty, pgid)


def spawn(start: Callable[[], None], tty: int | None, failed: int) -> int:
    """Fork a child that runs `start` (which execs, or reports why not) as the terminal's foreground
    job; wait for it and return its wait status (`failed` as the exit status when `start` returns).
    Both sides make the group and give it the terminal, as shells do, so that the command never reads
    the terminal before it owns it."""
    command = os.fork()
    if command == 0:
        try:  # the child must never return into the caller's code, whatever happens
            if tty is not None:
                os.setpgid(0, 0)
                _give_quietly(tty, os.getpgrp())
            for sig in RESET:
                signal.signal(sig, signal.SIG_DFL)
            start()
        finally:
            os._exit(failed)
    if tty is not None:
        with contextlib.suppress(OSError):  # EACCES: the child has exec'd, having done it itself
            os.setpgid(command, command)
        _give_quietly(tty, command)
    try:
        return _wait(command, tty)
    finally:
        if tty is not None:
            _give_quietly(tty, os.getpgrp())


def _wait(command: int, tty: int | None) -> int:
    """Wait for the command. When it stops (^Z), stop cgscope's own job too, so the shell that started
    cgscope sees it stopped; `fg` resumes cgscope, which resumes the command. Without a job-control
    shell cgscope's group is orphaned, the kernel discards the SIGTSTP, and the command just goes on."""
    if tty is None:  # the command shares cgscope's group: the terminal's ^Z and fg reach both at once
        return os.waitpid(command, 0)[1]
    while True:
        _, status = os.waitpid(command, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            return status
        _give_quietly(tty, os.getpgrp())
        os.killpg(os.getpgrp(), signal.SIGTSTP)
        _give_quietly(tty, command)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(command, signal.SIGCONT)  # its group: the command's own children too
