"""The OOM killer's victims, as the kernel log tells them (/dev/kmsg, Documentation/ABI/testing/dev-kmsg).

Each kill prints, from mm/oom_kill.c, a summary line naming the cgroup of the victim (Linux 4.19+):

    oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a/b,task=x,pid=1,uid=0

then "Memory cgroup out of memory: Killed process PID (COMM) total-vm:..." ("Out of memory: ..." when the
host ran out). `task_memcg` is the victim's memory cgroup path in the hierarchy that holds the memory
controller (v1's memory hierarchy, or cgroup2), from the root of the initial cgroup namespace.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass

from cgscope.fs.files import decode

_SUMMARY = re.compile(r"oom-kill:(?P<fields>.*)")
_KILLED = re.compile(r"Killed process (?P<pid>\d+) \((?P<comm>.*)\)(?: total-vm:|$)")  # comm may hold ")"
_FIELDS = ("task_memcg", "task", "pid")


@dataclass(frozen=True)
class Kill:
    pid: int
    comm: str
    memcg: str | None  # the victim's memory cgroup path; None where the log told no summary line


def record_text(record: bytes) -> str:
    """The message of one /dev/kmsg record ("PRIO,SEQ,USEC,FLAGS;message", continuation lines after)."""
    text = decode(record)
    return text.partition(";")[2].split("\n", 1)[0]


def parse_kills(messages: list[str]) -> list[Kill]:
    """The kills these log messages tell, in order: each "Killed process" line with the memcg of the
    summary line before it that names the same pid."""
    kills: list[Kill] = []
    summaries: dict[int, tuple[str, str]] = {}  # pid -> (task_memcg, task)
    for message in messages:
        summary = _SUMMARY.search(message)
        if summary is not None:
            fields = _summary_fields(summary.group("fields"))
            if fields is not None:
                summaries[fields[2]] = (fields[0], fields[1])
            continue
        killed = _KILLED.search(message)
        if killed is not None:
            pid = int(killed.group("pid"))
            memcg = summaries.pop(pid, (None, ""))[0]
            kills.append(Kill(pid, killed.group("comm"), memcg))
    return kills


def _summary_fields(text: str) -> tuple[str, str, int] | None:
    """(task_memcg, task, pid) of a summary's comma-separated key=value fields. The task's comm may hold
    a comma, so the fields are found by their keys, task_memcg's path ending at ",task="."""
    memcg_at = text.find("task_memcg=")
    task_at = text.find(",task=", memcg_at)
    pid_at = text.rfind(",pid=")
    if min(memcg_at, task_at, pid_at) < 0 or not task_at < pid_at:
        return None
    pid = text[pid_at + 5 :].split(",", 1)[0]
    if not pid.isdigit():
        return None
    return text[memcg_at + len("task_memcg=") : task_at], text[task_at + 6 : pid_at], int(pid)


class KernelLog:
    """/dev/kmsg read without blocking, from the end it had when opened: only what is logged later."""

    def __init__(self, path: str = "/dev/kmsg") -> None:
        self.error: str | None = None  # why it cannot be read, where it cannot
        self._fd = -1
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            os.lseek(self._fd, 0, os.SEEK_END)  # dev-kmsg: SEEK_END sets the reader after the last record
        except OSError as exc:
            self.error = f"{path}: {exc.strerror}"
            self.close()

    def messages(self) -> list[str]:
        """The messages logged since the last call. A record overwritten before it was read (EPIPE) is
        skipped; the next read returns the next one."""
        found: list[str] = []
        while self._fd >= 0:
            try:
                record = os.read(self._fd, 8192)  # one record per read(2); 8 KiB holds any (LOG_LINE_MAX)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EPIPE:
                    continue
                self.error = f"/dev/kmsg: {exc.strerror}"
                self.close()
                break
            if not record:
                break
            found.append(record_text(record))
        return found

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
