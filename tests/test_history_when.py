"""Moments as people type them (history/when.py), and `--at`/`--since` given nothing of the kind: one line,
exit status 2."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from hosts.dashboard import dashboard_host

from cgscope.cli import main
from cgscope.history.when import BadTime, duration, parse_time

NOW = dt.datetime(2026, 12, 3, 10, 30, 0).timestamp()  # local time


@pytest.mark.parametrize(
    ("text", "seconds_ago"),
    [
        ("10 min ago", 600),
        ("10min ago", 600),
        ("2h ago", 7200),
        ("2 hours ago", 7200),
        ("1h30m", 5400),
        ("1h 30m ago", 5400),
        ("1h", 3600),
        ("90", 90),
        ("1.5 d", 1.5 * 86400),
        ("now", 0),
        (" 30 s ago ", 30),
    ],
)
def test_a_while_ago(text: str, seconds_ago: float) -> None:
    assert parse_time(text, NOW) == NOW - seconds_ago


def test_a_time_of_day_is_today_or_yesterday() -> None:
    assert parse_time("03:00", NOW) == dt.datetime(2026, 12, 3, 3, 0).timestamp()
    assert parse_time("10:29:59", NOW) == dt.datetime(2026, 12, 3, 10, 29, 59).timestamp()
    assert parse_time("23:15", NOW) == dt.datetime(2026, 12, 2, 23, 15).timestamp()  # still to come


def test_iso_8601() -> None:
    assert parse_time("2026-12-03T03:00", NOW) == dt.datetime(2026, 12, 3, 3, 0).timestamp()
    utc = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC).timestamp()
    assert parse_time("2026-12-03T03:00:00+01:00", NOW) == utc
    assert parse_time("2026-12-03 02:00:00Z", NOW) == utc


@pytest.mark.parametrize("text", ["", "ago", "yesterday", "10 parsecs ago", "25:00", "3:7", "10 20", "-5m"])
def test_nonsense_is_refused(text: str) -> None:
    with pytest.raises(BadTime) as err:
        parse_time(text, NOW)
    assert "\n" not in str(err.value) and "10 min ago" in str(err.value)


def test_durations() -> None:
    assert duration("1w") == 7 * 86400
    assert duration("") is None and duration("h") is None


@pytest.mark.parametrize(
    "args", [("replay", "--at", "someday"), ("report", "--since", "yesterday"), ("report", "--until", "x")]
)
def test_a_bad_time_is_a_usage_error(
    args: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    assert main(["--root", str(dashboard_host(tmp_path).root), *args], out=out) == 2
    assert out.getvalue() == ""
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith("2026-12-03T03:00")
