"""Expected failures. Each carries a one-line message for the user; none should surface as a traceback."""


class CgscopeError(Exception):
    """An expected failure: the CLI prints its message on one line and exits 1."""


class ProcessGone(CgscopeError):
    """The process (or cgroup) vanished while it was being read: ENOENT, ESRCH, ENODEV."""


class AccessDenied(CgscopeError):
    """The kernel refused to let us read a file (EACCES/EPERM)."""


class NotFound(CgscopeError):
    """A user-supplied name (container, pid) matches nothing."""


class NoCgroups(CgscopeError):
    """No cgroup hierarchy is mounted where this process can see it."""
