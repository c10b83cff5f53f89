"""What every screen of one dashboard shares, handed to each screen when it is made: the host it shows,
whether it may change anything, whether the header shows the clock, and the recorded frames it replays
(`cgscope replay`) instead of reading the host."""

from __future__ import annotations

from dataclasses import dataclass

from cgscope.fs.hostroot import HostRoot
from cgscope.history.replay import Replay


@dataclass(frozen=True)
class Session:
    host: HostRoot
    read_only: bool
    clock: bool = True  # the time of the last refresh in the header (tests leave it out)
    replay: Replay | None = None  # recorded frames: the header shows their time, screens what they hold
