"""What the kernel's answer to a step means, in one line: which step failed, the errno, and what it says
about cgroups there (cgroup-v2.rst's rules, cgroup v1's bounds)."""

from __future__ import annotations

import errno
import os

from cgscope.control.plan import Step
from cgscope.fs.hostroot import HostRoot

FREEZE_TIMEOUT = 10.0  # seconds to wait for a cgroup to report frozen (or thawed)
MISSING_FILE = "controller not enabled for that cgroup, or not built in"


def reason(exc: BaseException) -> str:
    """An error in a few words: the kernel's ("Permission denied") or cgscope's message."""
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    return str(exc)


def explain(host: HostRoot, step: Step, exc: OSError | TimeoutError) -> str:
    """One line: which step failed and what the kernel's answer means for it."""
    code = exc.errno or 0
    name = errno.errorcode.get(code, "error")
    shown = host.shown(step.path)
    file = step.path.name
    if step.op == "mkdir":
        return f"cannot make {shown}: {os.strerror(code)} ({name})"
    if step.op == "signal":
        return _signal(step, code, name)
    if code in (errno.EACCES, errno.EPERM):
        return f"writing {shown}: permission denied ({name}): changing cgroups needs root"
    if step.op == "freeze" and isinstance(exc, TimeoutError):
        return f"{host.shown(step.path.parent)} did not report {step.value} within {FREEZE_TIMEOUT:g} s"
    if step.op == "move":
        where = f"{step.hierarchy}:{step.cgroup}"
        if code == errno.ESRCH:
            return f"process {step.pid} has exited (ESRCH) before it could move to {where}"
        if code == errno.EBUSY:
            return (
                f"cannot move process {step.pid} into {where} (EBUSY): it passes controllers to its "
                "children (cgroup.subtree_control), and cgroup v2 keeps processes out of such a cgroup "
                "(no-internal-process rule): choose a leaf cgroup"
            )
        if code == errno.EOPNOTSUPP:
            return (
                f"cannot move process {step.pid} into {where} (EOPNOTSUPP): it is a threaded or 'domain "
                "invalid' cgroup (see its cgroup.type): a whole process can only join a domain cgroup"
            )
        if code == errno.ENOSPC:
            return f"cannot move process {step.pid} into {where} (ENOSPC): its cpuset has no cpus or mems"
        if code == errno.EINVAL:
            return f"cannot move process {step.pid} into {where} (EINVAL): the kernel refuses to move it"
        if code == errno.ENOENT:
            return f"cannot move process {step.pid} into {where}: the cgroup is gone"
    if step.op == "enable" and code == errno.EBUSY:
        return (
            f"cannot enable {step.value[1:]} in {shown} (EBUSY): that cgroup holds processes, and "
            "cgroup v2 lets only a cgroup without processes pass controllers to children "
            "(no-internal-process rule)"
        )
    if code == errno.ENOENT:
        return f"{shown} does not exist: this kernel offers no {file} there ({MISSING_FILE})"
    if code == errno.EBUSY and file.startswith("memory."):
        return f"writing {step.value} to {shown} (EBUSY): the kernel could not reclaim memory down to it"
    if code == errno.EBUSY and file.startswith("cpuset."):
        return f"writing {step.value} to {shown} (EBUSY): a cpuset must include its children's CPUs and mems"
    if code == errno.EINVAL and file.startswith("cpu.cfs_"):
        return (
            f"writing {step.value} to {shown} (EINVAL): outside the kernel's bounds (quota at least "
            "1 ms, period 1 ms to 1 s) or above a parent's quota"
        )
    if code == errno.EINVAL and file.startswith("memory.") and "memsw" not in file:
        return f"writing {step.value} to {shown} (EINVAL): not a size it takes, or above memory+swap"
    if code == errno.ENODEV:
        return f"writing {step.value!r} to {shown} (ENODEV): no such block device"
    return f"writing {step.value!r} to {shown}: {os.strerror(code)} ({name})"


def _signal(step: Step, code: int, name: str) -> str:
    what = f"SIG{step.value} to process {step.pid}"
    if code == errno.ESRCH:
        return f"process {step.pid} has exited: nothing sent"
    if code == errno.EPERM:
        return f"sending {what}: permission denied (EPERM): it belongs to another user, which needs root"
    return f"sending {what}: {os.strerror(code)} ({name})"
