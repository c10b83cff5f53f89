"""The journal is the user's only way back: nothing changes that it cannot record, a torn or foreign line
is skipped and said, a change cut short says what it wrote, and undo restores only what still holds
what cgscope wrote."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from controlfake import V1_UNLIMITED, FixtureFiles, control_host, snapshot
from fakehost import FakeHost

from cgscope.cli import main
from cgscope.control.apply import apply
from cgscope.control.errors import InvalidRequest, WriteFailed
from cgscope.control.journal import Journal, JournalError
from cgscope.control.limits import plan_limit
from cgscope.control.plan import Plan, Step
from cgscope.control.request import parse_request
from cgscope.control.target import resolve
from cgscope.control.undo import undo
from cgscope.fs.hostroot import HostRoot

QUOTA = "sys/fs/cgroup/cpu/box/inner/cpu.cfs_quota_us"
MEMORY = "sys/fs/cgroup/memory/box/inner/memory.limit_in_bytes"
PIDS = "sys/fs/cgroup/pids/box/inner/pids.max"


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    return tmp_path / "state" / "journal.jsonl"


@pytest.fixture
def fake(tmp_path: Path) -> FakeHost:
    return control_host(tmp_path, "hybrid")


def run(fake: FakeHost, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["--root", str(fake.root), *argv], out=out), out.getvalue()


def three_writes(host: HostRoot) -> Plan:
    return plan_limit(host, resolve(host, "400"), parse_request(cpu="50%", memory="256M", pids="100"))


class Crash(FixtureFiles):
    """cgscope is killed right after its second write."""

    def write(self, path: Path, value: str) -> None:
        super().write(path, value)
        if self.writes == 2:
            raise SystemExit("killed")


def cut_short(fake: FakeHost, journal: Journal) -> None:
    host = HostRoot.at(fake.root)
    with pytest.raises(SystemExit):
        apply(host, three_writes(host), journal, files=Crash(fake))


# -- foreign and torn lines ----------------------------------------------------------------------------

GARBAGE = [
    '{"v":1,"event":"begin","id":2,"time":"t","uid":0,"user":"root","root":"/","action":"limit",'
    '"command":[],"target":"x","target_pids":[],"steps":"abc","notes":[]}',
    '{"v":1,"event":"applied","id":1e400}',
    '{"v":1,"event":"undone","id":true,"time":"t","user":"u","problems":[]}',
    '{"v":1,"event":"begin","id":3,"steps":[{"op":"write","path":"relative"}]}',
    "[1, 2, 3]",
    "not json at all",
    "[" * 100_000,
]


def test_garbage_lines_are_skipped_and_reported(
    fake: FakeHost, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(fake.root)
    assert run(fake, "limit", "400", "--pids", "10")[0] == 0
    with state.open("a") as f:
        f.write("\n".join(GARBAGE) + "\n")
    capsys.readouterr()
    status, out = run(fake, "history")
    assert status == 0 and len(out.splitlines()) == 2 and " applied " in out
    warned = capsys.readouterr().err.splitlines()
    assert len(warned) == len(GARBAGE)
    assert all(w.startswith(f"cgscope: warning: {state}: line ") and w.endswith(": skipped") for w in warned)
    assert "'steps' holds a str where a list belongs" in warned[0]
    data = json.loads(run(fake, "history", "--json")[1])
    assert [c["id"] for c in data["changes"]] == [1] and len(data["skipped"]) == len(GARBAGE)
    assert run(fake, "undo") == (0, "undid change 1: limit process 400 (job)\n")
    assert snapshot(fake.root) == before


def test_a_torn_last_line_is_skipped_and_the_next_starts_a_line_of_its_own(
    fake: FakeHost, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake, "limit", "400", "--pids", "10")[0] == 0
    with state.open("a") as f:
        f.write('{"v":1,"event":"begin","id":2,"ti')  # cgscope killed while writing a line
    capsys.readouterr()
    assert run(fake, "history")[0] == 0
    assert capsys.readouterr().err == (
        f"cgscope: warning: {state}: line 4: cut short (cgscope was stopped while writing it): skipped\n"
    )
    assert run(fake, "limit", "400", "--pids", "20")[0] == 0  # its begin line is not glued to the torn one
    lines = state.read_text().splitlines()
    assert lines[3] == '{"v":1,"event":"begin","id":2,"ti'
    assert all(json.loads(line)["v"] == 1 for line in lines[:3] + lines[4:])
    assert [(c.id, c.status) for c in Journal(state).changes()] == [(1, "applied"), (2, "applied")]
    assert fake.path("/" + PIDS).read_text() == "20\n"


class FullAfterBegin(Journal):
    """The disk fills up after the change's begin line."""

    def step(self, change_id: int, index: int, step: Step, after: str | None) -> None:
        raise JournalError(f"cannot write the journal {self.path}: {os.strerror(errno.ENOSPC)}")


def test_a_step_the_journal_cannot_record_is_rolled_back(fake: FakeHost, tmp_path: Path) -> None:
    host = HostRoot.at(fake.root)
    before = snapshot(fake.root)
    journal = FullAfterBegin(tmp_path / "journal.jsonl")
    with pytest.raises(
        WriteFailed, match=r"No space left on device \(it records each step before the next\)"
    ):
        apply(host, three_writes(host), journal, files=FixtureFiles(fake))
    assert snapshot(fake.root) == before


FULL_DISK = """
import io, json, os, sys
from pathlib import Path
from cgscope.cli import main

state, root, filler = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[1]) / "filler"
fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
try:  # fill the file system until it refuses
    while True:
        os.write(fd, b"x" * 512)
except OSError:
    os.close(fd)
err = io.StringIO()
sys.stderr = err
full = main(["--root", root, "limit", "400", "--pids", "10"], out=io.StringIO())
filler.unlink()
freed = main(["--root", root, "limit", "400", "--pids", "20"], out=io.StringIO())
sys.stderr = sys.__stderr__
print(json.dumps({"full": full, "freed": freed, "err": err.getvalue()}))
"""


def test_a_full_journal_disk_changes_nothing(fake: FakeHost, tmp_path: Path) -> None:
    """A tmpfs of a few KiB, mounted in a mount namespace of this test's own, holds the journal."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to mount a small tmpfs in a private mount namespace")
    small = tmp_path / "small"
    small.mkdir()
    journal = small / "journal.jsonl"
    env = {**os.environ, "CGSCOPE_STATE": str(small), "PYTHONPATH": str(Path(__file__).parents[1])}
    before = snapshot(fake.root)
    mount = f"mount -t tmpfs -o size=16k cgscope-test-journal {small} && "
    probe = f'{sys.executable} -c "$0" {small} {fake.root}; status=$?; cat {journal}; exit $status'
    private = ["unshare", "--mount", "--propagation", "private"]
    result = subprocess.run(
        [*private, "sh", "-c", mount + probe, textwrap.dedent(FULL_DISK)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report, *lines = result.stdout.splitlines()
    said = json.loads(report)
    assert said["full"] == 1
    assert said["err"] == (
        f"cgscope: cannot write the journal {journal}: No space left on device: nothing changed "
        "(free space there, or set CGSCOPE_STATE)\n"
    )
    assert said["freed"] == 0
    assert [json.loads(line)["event"] for line in lines] == ["begin", "step", "applied"]  # whole lines
    after = snapshot(fake.root)
    assert after.pop(PIDS) == ("file", b"20\n") and before.pop(PIDS) == ("file", b"max\n")
    assert after == before
    assert not os.path.ismount(small)  # the mount went with its namespace


# -- a change cut short ----------------------------------------------------------------------------------


def test_history_says_what_a_change_cut_short_did_and_did_not_write(
    fake: FakeHost, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut_short(fake, Journal(state))
    status, out = run(fake, "history")
    row = out.splitlines()[1]
    assert status == 0 and " incomplete " in row
    assert (
        "cut short — wrote: cpu:/box/inner/cpu.cfs_quota_us=50000 — may have written: "
        "memory:/box/inner/memory.limit_in_bytes=268435456 — did not write: pids:/box/inner/pids.max=100 — "
        "'cgscope undo 1' restores what it wrote"
    ) in " ".join(out.split())
    [change] = json.loads(run(fake, "history", "--json")[1])["changes"]
    assert [s["written"] for s in change["steps"]] == [True, None, False]
    assert change["status"] == "incomplete"


def test_a_second_change_where_one_was_cut_short_warns(
    fake: FakeHost, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut_short(fake, Journal(state))
    before = snapshot(fake.root)
    assert run(fake, "limit", "400", "--pids", "20")[0] == 1
    assert capsys.readouterr().err == (
        "cgscope: nothing changed: change 1 (limit process 400 (job)) was cut short in /box/inner: "
        "'cgscope history' says what it wrote, 'cgscope undo 1' restores it; "
        "confirm on a terminal, or add --yes\n"
    )
    assert snapshot(fake.root) == before
    assert run(fake, "limit", "100", "--pids", "20", "--dry-run")[1].count("warning") == 0  # elsewhere
    assert run(fake, "limit", "400", "--pids", "20", "--yes")[0] == 0


def test_undo_of_a_change_cut_short_leaves_what_changed_since(fake: FakeHost, state: Path) -> None:
    """The rule for complete changes holds: a file is restored only if it holds what cgscope wrote."""
    cut_short(fake, Journal(state))
    fake.path("/" + QUOTA).write_text("77000\n")  # someone changed it since
    assert run(fake, "undo") == (
        0,
        "undid change 1: limit process 400 (job)\n"
        f"  left as is: /{QUOTA} was changed since (it holds '77000', cgscope wrote '50000'): "
        "left as is\n",
    )
    assert fake.path("/" + QUOTA).read_text() == "77000\n"
    assert fake.path("/" + MEMORY).read_text() == f"{V1_UNLIMITED}\n"  # it was being written: restored
    assert fake.path("/" + PIDS).read_text() == "max\n"  # never written


def test_undo_leaves_a_file_cgscope_may_not_have_written(fake: FakeHost, state: Path) -> None:
    cut_short(fake, Journal(state))
    fake.path("/" + MEMORY).write_text("1048576\n")
    [undone] = undo(HostRoot.at(fake.root), Journal(state), files=FixtureFiles(fake))
    assert undone.problems == (
        f"/{MEMORY} holds '1048576', neither its old '9223372036854771712' nor the "
        "'268435456' cgscope was writing: left as is",
    )
    assert fake.path("/" + MEMORY).read_text() == "1048576\n"
    assert fake.path("/" + QUOTA).read_text() == "-1\n"


# -- undo: the last change, one by id, the last N, dry runs --------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def three_changes(fake: FakeHost) -> dict[str, tuple[str, bytes | str]]:
    before = snapshot(fake.root)
    for option, value in (("--pids", "10"), ("--cpu-weight", "50"), ("--memory", "256M")):
        assert run(fake, "limit", "400", option, value)[0] == 0
    return before


def test_undo_takes_ids_and_never_reverts_what_was_not_asked(
    fake: FakeHost, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    three_changes(fake)
    applied = snapshot(fake.root)
    journal = state.read_bytes()
    assert run(fake, "undo", "999")[0] == 1
    assert capsys.readouterr().err == (
        f"cgscope: no change 999 in {state} ('cgscope history' lists ids 1 to 3)\n"
    )
    assert (snapshot(fake.root), state.read_bytes()) == (applied, journal)
    shares = "/sys/fs/cgroup/cpu/box/inner/cpu.shares"
    assert run(fake, "undo", "2", "--dry-run")[1].splitlines() == [
        "cgscope would undo change 2: limit process 400 (job):", f"  write {shares} = '1024'   (holds '512')",
    ]  # fmt: skip
    assert (snapshot(fake.root), state.read_bytes()) == (applied, journal)
    assert run(fake, "undo", "2") == (0, "undid change 2: limit process 400 (job)\n")
    assert fake.path(shares).read_text() == "1024\n"
    assert (
        fake.path("/" + PIDS).read_text() == "10\n" and fake.path("/" + MEMORY).read_text() == "268435456\n"
    )
    assert [c.status for c in Journal(state).changes()] == ["applied", "undone", "applied"]
    assert run(fake, "undo", "2")[0] == 1
    assert "change 2 is undone already" in capsys.readouterr().err
    assert run(fake, "undo", "--dry-run")[1].startswith("cgscope would undo change 3:")  # the last one


def test_undo_last_n_asks_or_takes_yes(
    fake: FakeHost, state: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = three_changes(fake)
    applied = snapshot(fake.root)
    assert run(fake, "undo", "--last", "2")[0] == 1  # no terminal, no --yes
    assert capsys.readouterr().err == (
        "cgscope: nothing changed: undo --last 2 undoes changes 3, 2; confirm on a terminal, or add --yes\n"
    )
    assert run(fake, "undo", "--last", "4")[0] == 1
    assert "only 3 change(s) are in effect (ids 3, 2, 1): give --last 3" in capsys.readouterr().err
    out = run(fake, "undo", "--last", "3", "--dry-run")[1]
    assert [ln.split(":")[0] for ln in out.splitlines() if not ln.startswith(" ")] == [
        "cgscope would undo change 3", "cgscope would undo change 2", "cgscope would undo change 1",
    ]  # fmt: skip
    assert snapshot(fake.root) == applied
    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    assert run(fake, "undo", "--last", "2")[0] == 1
    assert "Undo these 2 changes? [y/N] " in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    assert run(fake, "undo", "--last", "2")[1] == (
        "undid change 3: limit process 400 (job)\nundid change 2: limit process 400 (job)\n"
    )
    assert run(fake, "undo", "--last", "1", "--yes")[0] == 0
    assert snapshot(fake.root) == before
    assert run(fake, "undo", "--dry-run")[0] == 1
    assert "nothing to undo" in capsys.readouterr().err


def test_a_refused_undo_changes_nothing_the_journal_included(fake: FakeHost, state: Path) -> None:
    """As a user who may not write the cgroup's files (the check is the kernel's access(2) one)."""
    three_changes(fake)
    applied, journal = snapshot(fake.root), state.read_bytes()
    files = FixtureFiles(fake, unwritable={MEMORY})
    with pytest.raises(InvalidRequest, match=r"^undoing change 3 needs root: .*memory.limit_in_bytes is not"):
        undo(HostRoot.at(fake.root), Journal(state), files=files)
    assert files.calls == []
    assert (snapshot(fake.root), state.read_bytes()) == (applied, journal)


def test_limit_as_a_user_who_may_not_write_fails_first_on_that(fake: FakeHost, state: Path) -> None:
    """Not on the journal's path: nothing is journaled, and the message says it needs root."""
    host = HostRoot.at(fake.root)
    before = snapshot(fake.root)
    files = FixtureFiles(fake, unwritable={PIDS})
    with pytest.raises(
        InvalidRequest, match=r"^limit needs root: .*pids.max is not writable .*nothing changed$"
    ):
        apply(host, three_writes(host), Journal(state), files=files)
    assert files.calls == [] and snapshot(fake.root) == before
    assert not state.parent.exists()


def test_a_change_cut_short_in_a_journal_without_step_lines(fake: FakeHost, state: Path) -> None:
    """Journals written before step lines: any step of a change cut short may have been written."""
    before = snapshot(fake.root)
    cut_short(fake, Journal(state))
    lines = [json.loads(line) for line in state.read_text().splitlines()]
    begin = {k: v for k, v in lines[0].items() if k != "stepwise"}
    state.write_text(json.dumps(begin) + "\n")  # as cgscope wrote it then: no step lines
    [change] = Journal(state).changes()
    assert (change.status, change.written) == ("incomplete", (None, None, None))
    undo(HostRoot.at(fake.root), Journal(state), files=FixtureFiles(fake))
    assert snapshot(fake.root) == before
