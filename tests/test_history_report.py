"""`cgscope report` on a stretch the real store recorded (history_fixture.py), and on the checked-in store
of format 1: per container its CPU and memory against the limits, time throttled, OOM kills with their
victims, and the events."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest
from history_fixture import FRAMES, OOM, PEAK_MIB, RAISED, T0, at, record_fixture
from history_golden import GOLDEN
from hosts.counters import CID, MIB
from hosts.dashboard import dashboard_host
from test_history_events import bare_host

from cgscope.cli import main
from cgscope.fs.hostroot import HostRoot
from cgscope.history.report import summarize
from cgscope.history.store import Writer, frame_entry, index
from cgscope.sampling import Frame, Sampler

WEB = {"id": CID, "name": "web", "runtime": "docker", "init_pid": 4242}
EVERYTHING = ["--since", "2025-11-30T00:00Z", "--until", "2025-12-02T00:00Z"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Frame]]:
    store = tmp_path_factory.mktemp("history")
    return store, record_fixture(store, tmp_path_factory.mktemp("host"))


def cgscope(tmp_path: Path, *args: str) -> tuple[int, str]:
    """`cgscope ARGS` on a fixture host (the report reads the store alone, whatever the host)."""
    base = tmp_path / "host"
    if not base.exists():
        base.mkdir()
        dashboard_host(base)
    out = io.StringIO()
    status = main(["--root", str(base / "root"), *args], out=out)
    return status, out.getvalue()


def report_json(tmp_path: Path, store: Path, *args: str) -> Any:
    status, text = cgscope(tmp_path, "report", "--dir", str(store), *EVERYTHING, *args, "--json")
    assert status == 0 and text.count("\n") == 1
    return json.loads(text)


def test_the_report_of_each_container(recorded: tuple[Path, list[Frame]], tmp_path: Path) -> None:
    store, frames = recorded
    data = report_json(tmp_path, store)
    assert data["history"] == {
        "dir": str(store), "first_at": T0, "last_at": at(FRAMES - 1), "frames": FRAMES, "warnings": []
    }  # fmt: skip
    [web] = data["containers"]
    assert web["container"] == WEB
    assert (web["frames"], web["first_at"], web["last_at"]) == (FRAMES, T0, at(FRAMES - 1))
    shares = [f.container_usage[CID].usage.cpu.limit_percent for f in frames]  # type: ignore[union-attr]
    rates = [round(s, 2) for s in shares if s is not None]
    assert len(rates) == FRAMES - 1  # the first frame has no rate yet
    assert web["cpu"]["peak_percent_of_limit"] == pytest.approx(max(rates), abs=0.02)
    assert web["cpu"]["mean_percent_of_limit"] == pytest.approx(sum(rates) / len(rates), abs=0.02)
    assert web["cpu"]["allowance_cpus"] == 0.5  # at the last frame: raised from 0.2
    assert web["cpu"]["throttled_seconds"] == FRAMES - 1  # one second more each frame
    wset = (PEAK_MIB - 25) * MIB  # less its inactive file cache
    assert web["memory"] == {
        "peak_working_set_bytes": wset, "limit_bytes": 200 * MIB, "peak_percent_of_limit": 82.5
    }  # fmt: skip
    assert web["oom_kills"] == [{"at": at(OOM), "victim_pid": 4243, "victim_comm": "nginx"}]
    assert [(e["at"], e["kind"], e["container"]) for e in data["events"]] == [
        (at(OOM), "oom_kill", WEB),
        (at(RAISED), "limit_changed", WEB),
    ]
    assert data["events"][1]["detail"] == {"file": "cpu.max", "old": 0.2, "new": 0.5}


def test_since_and_until_narrow_it(recorded: tuple[Path, list[Frame]], tmp_path: Path) -> None:
    store, _ = recorded
    since, until = "2025-12-01T00:00:12Z", "2025-12-01T00:00:31Z"
    args = ("--dir", str(store), "--since", since, "--until", until, "--json")
    status, text = cgscope(tmp_path, "report", *args)
    data = json.loads(text)
    assert status == 0 and data["history"]["frames"] == 4  # at 15, 20, 25 and 30 s
    assert [e["kind"] for e in data["events"]] == ["oom_kill"]
    assert data["containers"][0]["cpu"]["throttled_seconds"] == 4


@pytest.mark.parametrize("ref", ["web", CID, CID[:6]])
def test_one_container_by_name_or_id(recorded: tuple[Path, list[Frame]], tmp_path: Path, ref: str) -> None:
    data = report_json(tmp_path, recorded[0], ref)
    assert [c["container"]["id"] for c in data["containers"]] == [CID]


def test_a_container_never_recorded_is_one_line(
    recorded: tuple[Path, list[Frame]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, text = cgscope(tmp_path, "report", "--dir", str(recorded[0]), *EVERYTHING, "nosuch")
    assert (status, text) == (1, "")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'nosuch'" in err


def test_the_text_report(recorded: tuple[Path, list[Frame]], tmp_path: Path) -> None:
    status, text = cgscope(tmp_path, "report", "--dir", str(recorded[0]), *EVERYTHING)
    assert status == 0
    lines = text.splitlines()
    assert f"{FRAMES} frames" in lines[0]
    [row] = [line for line in lines if line.startswith("web ")]
    assert "165M/200M" in row and "82.5" in row and "9.0" in row and "1: 4243 (nginx)" in row
    assert any("oom_kill" in line and "killed 4243 (nginx)" in line for line in lines)
    assert any("limit_changed" in line and "cpu.max 0.2 -> 0.5" in line for line in lines)


def test_nothing_recorded_then(recorded: tuple[Path, list[Frame]], tmp_path: Path) -> None:
    status, text = cgscope(tmp_path, "report", "--dir", str(recorded[0]), "--since", "1h")
    assert status == 0 and text.startswith("no frame recorded in ")
    data = report_json(tmp_path, recorded[0], "--since", "2025-12-01T01:00Z")
    assert data["history"]["frames"] == 0 and data["containers"] == [] and data["events"] == []


def test_no_history_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, text = cgscope(tmp_path, "report", "--dir", str(tmp_path / "none"))
    assert (status, text) == (1, "")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cgscope record --dir" in err


def test_the_format_1_store(tmp_path: Path) -> None:
    summary = summarize(index(GOLDEN, rollups=True))
    [web] = summary.containers
    assert web.ref == WEB and web.frames == 3
    assert [e.detail["victim_pid"] for e in web.oom_kills] == [4243]
    assert [e.kind for e in summary.events] == ["oom_kill", "limit_changed"]
    assert summary.frames == 3 and summary.warnings == []


def test_a_bare_containers_id_given_again_is_reported_apart(tmp_path: Path) -> None:
    """Two bare containers, one after the other, with the same id (their pid namespaces' inode): two
    rows, each with its own frames."""
    store = tmp_path / "store"
    writer = Writer.open(store, retain_s=0, max_bytes=0)
    try:
        for i, init in enumerate((701, 701, 801)):
            frame = Sampler(HostRoot.at(bare_host(tmp_path / f"h{i}", init).root)).sample(())
            writer.append(frame_entry(dataclasses.replace(frame, taken_at=at(i))))
    finally:
        writer.close()
    data = report_json(tmp_path, store)
    rows = [
        (r["container"]["init_pid"], r["frames"])
        for r in data["containers"]
        if r["container"]["runtime"] == "bare"
    ]
    assert sorted(rows) == [(701, 2), (801, 1)]
