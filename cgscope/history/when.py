"""A moment as people type it, for `replay --at`, `report --since/--until` and the replay's `t` key:
"10 min ago", "2h ago", "1h30m" (that long ago), "03:00" (today, or yesterday when that is still to
come), "now", or ISO 8601 ("2026-12-03T03:00", "2026-12-03 03:00:00+01:00"; local time without an
offset)."""

from __future__ import annotations

import datetime as dt
import re
import time

from cgscope.errors import CgscopeError

EXAMPLES = '"10 min ago", "2h ago", "03:00" or 2026-12-03T03:00'
_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "week", "weeks"), 7 * 86400),
}
_PART = re.compile(r"\s*([0-9]{1,9}(?:\.[0-9]{1,6})?)\s*([a-z]*)")
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?")


class BadTime(CgscopeError):
    """Text that names no moment."""

    def __init__(self, text: str) -> None:
        super().__init__(f"{text!r} is not a time: give one such as {EXAMPLES}")


def duration(text: str) -> float | None:
    """Seconds of "10 min", "2h", "1h30m", "90" (seconds); None for anything else."""
    rest, total, parts = text.strip().lower(), 0.0, 0
    while rest:
        m = _PART.match(rest)
        if m is None or (m[2] and m[2] not in _UNITS) or (not m[2] and m.end() < len(rest)):
            return None
        total += float(m[1]) * _UNITS[m[2] or "s"]
        rest, parts = rest[m.end() :].lstrip(), parts + 1
    return total if parts else None


def parse_time(text: str, now: float | None = None) -> float:
    """The moment `text` names, as time.time() counts; BadTime when it names none."""
    now = time.time() if now is None else now
    said = text.strip()
    lowered = said.lower()
    if lowered == "now":
        return now
    ago = duration(lowered.removesuffix("ago")) if lowered.endswith("ago") else duration(lowered)
    if ago is not None:
        return now - ago
    clock = _CLOCK.fullmatch(said)
    if clock is not None:
        return _today_at(int(clock[1]), int(clock[2]), int(clock[3] or 0), now)
    try:
        moment = dt.datetime.fromisoformat(said)
    except ValueError:
        raise BadTime(text) from None
    return moment.timestamp()  # a naive moment is local time, as datetime.timestamp takes it


def _today_at(hour: int, minute: int, second: int, now: float) -> float:
    """That time of day today, local time; yesterday's when today's is still to come."""
    today = dt.datetime.fromtimestamp(now)
    moment = today.replace(hour=hour, minute=minute, second=second, microsecond=0)
    if moment.timestamp() > now:
        moment -= dt.timedelta(days=1)  # across a DST change the wall time is kept, as people mean it
    return moment.timestamp()
