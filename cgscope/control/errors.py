"""Why a change was refused or failed. Each message is one line saying what was wrong and what to do."""

from __future__ import annotations

from cgscope.errors import CgscopeError


class InvalidRequest(CgscopeError):
    """A value, name or target refused before anything was written."""


class NeedsConfirmation(CgscopeError):
    """The change reaches processes outside its target, or may make the kernel reclaim or OOM-kill."""


class WriteFailed(CgscopeError):
    """The kernel refused a step; what had been written was rolled back (the message says if not)."""

    def __init__(self, message: str, *, rolled_back: bool = True) -> None:
        super().__init__(message)
        self.rolled_back = rolled_back
