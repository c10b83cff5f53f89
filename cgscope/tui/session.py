"""What every screen of one dashboard shares, handed to each screen when it is made: the host it shows,
whether it may change anything, and whether the header shows the clock."""

from __future__ import annotations

from dataclasses import dataclass

from cgscope.fs.hostroot import HostRoot


@dataclass(frozen=True)
class Session:
    host: HostRoot
    read_only: bool
    clock: bool = True  # the time of the last refresh in the header (tests leave it out)
