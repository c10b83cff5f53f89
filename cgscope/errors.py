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


class InvalidFormat(CgscopeError):
    """A kernel file (or a file in the kernel's formats) holds what its format does not allow."""

    def __init__(self, path: object, line: str | None = None, problem: str = "unexpected line") -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        shown = "" if line is None else f" {_clip(line)!r}"
        super().__init__(f"{self.path}: {problem}{shown}")


def _clip(line: str, width: int = 80) -> str:
    """A line as the message quotes it: at most `width` characters (a huge value is a line too)."""
    return line if len(line) <= width else line[: width - 1] + "…"
