"""One place that maps OS errors to cgscope's domain errors while reading kernel files."""

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone

# A pid directory or a cgroup directory that disappears under us: the file is gone (ENOENT), the task
# has exited (ESRCH, e.g. readlink of /proc/PID/ns/* during exit), or the cgroup was removed while a
# file was open (ENODEV).
GONE_ERRNOS = frozenset({errno.ENOENT, errno.ESRCH, errno.ENODEV, errno.ENOTDIR})
DENIED_ERRNOS = frozenset({errno.EACCES, errno.EPERM})


@contextmanager
def reading(path: Path | str) -> Iterator[None]:
    """Turn the OS errors of reading `path` into ProcessGone / AccessDenied naming the file."""
    try:
        yield
    except OSError as exc:
        if exc.errno in GONE_ERRNOS:
            raise ProcessGone(f"{path}: gone while reading") from None
        if exc.errno in DENIED_ERRNOS:
            raise AccessDenied(f"{path}: permission denied") from None
        raise
