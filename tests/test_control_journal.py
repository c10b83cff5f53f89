"""The journal: where it lives, what a record holds, and history/undo through the CLI on a fixture host."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from controlfake import control_host, snapshot

from cgscope.cli import main
from cgscope.control.journal import Journal, state_dir
from cgscope.control.plan import Plan, Step
from cgscope.errors import CgscopeError


def test_where_the_journal_lives(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CGSCOPE_STATE", raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert state_dir() == Path("/var/lib/cgscope")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_dir() == tmp_path / "xdg" / "cgscope"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert state_dir() == tmp_path / "home" / ".local/state/cgscope"
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "mine"))
    assert state_dir() == tmp_path / "mine"


PLAN = Plan(
    action="limit",
    target="process 7 (sh)",
    target_pids=(7,),
    steps=(Step("write", "pids", "/a", Path("/sys/fs/cgroup/pids/a/pids.max"), "5"),),
    notes=("a note",),
)


def test_records_fold_into_changes(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j" / "journal.jsonl")
    step = PLAN.steps[0].with_old("max", "max")
    with journal.locked():
        first = journal.begin(PLAN, [step], ["limit", "7", "--pids", "5"], Path("/"))
        journal.finish(first, "applied", after=["5"])
        second = journal.begin(PLAN, [step], ["limit", "7", "--pids", "5"], Path("/"))
        journal.finish(second, "rolled back", error="writing 5 to ...: EINVAL")
        third = journal.begin(PLAN, [step], ["limit", "7", "--pids", "5"], Path("/"))
    with journal.locked():
        journal.record_undo(first, ["a problem"])
    with journal.path.open("a") as f:
        f.write('{"v":1,"event":"begin","id":4,"ti')  # a line cut short by a crash
    changes = journal.changes()
    assert [(c.id, c.status) for c in changes] == [(1, "undone"), (2, "rolled back"), (3, "incomplete")]
    assert (first, second, third) == (1, 2, 3)
    one = changes[0].to_json()
    assert one["steps"] == [
        {
            "op": "write",
            "hierarchy": "pids",
            "cgroup": "/a",
            "path": "/sys/fs/cgroup/pids/a/pids.max",
            "value": "5",
            "old": "max",
            "restore": "max",
            "after": "5",
            "written": True,
        }
    ]
    assert one["undone"]["problems"] == ["a problem"]
    assert (one["uid"], one["command"]) == (os.getuid(), ["limit", "7", "--pids", "5"])
    assert oct(journal.path.stat().st_mode & 0o777) == "0o600"
    for line in journal.path.read_text().splitlines()[:-1]:
        assert json.loads(line)["v"] == 1


def test_unwritable_journal_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with (
        pytest.raises(CgscopeError, match=r"cannot write the journal .*set CGSCOPE_STATE"),
        Journal(blocker / "journal.jsonl").locked(),
    ):
        pass


def test_lock_serialises_writers(tmp_path: Path) -> None:
    """A second cgscope waits for the first one's change to end: ids never collide."""
    path = tmp_path / "journal.jsonl"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from cgscope.control.journal import Journal\n"
            f"with Journal(Path({str(path)!r})).locked():\n    print('held', flush=True); time.sleep(1)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    journal = Journal(path)
    start = time.monotonic()
    with journal.locked():
        waited = time.monotonic() - start
    holder.wait()
    holder.stdout.close()
    assert waited > 0.5


def run(host_root: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["--root", str(host_root), *argv], out=out), out.getvalue()


def test_history_and_undo_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    host = control_host(tmp_path, "hybrid")
    before = snapshot(host.root)
    assert run(host.root, "history") == (0, f"no changes recorded in {tmp_path}/state/journal.jsonl\n")
    status, out = run(host.root, "limit", "400", "--cpu", "50%", "--pids", "10")
    assert status == 0 and out.startswith("change 1: limit process 400 (job)")
    assert "cpu.cfs_quota_us = 50000   (was -1)" in out
    status, out = run(host.root, "history")
    header, row = out.splitlines()
    assert header.split() == ["ID", "TIME", "USER", "ACTION", "TARGET", "STATUS", "CHANGES"]
    assert " limit " in row and " applied " in row and "cpu:/box/inner/cpu.cfs_quota_us=50000" in row
    data = json.loads(run(host.root, "history", "--json")[1])
    assert data["journal"] == f"{tmp_path}/state/journal.jsonl"
    [change] = data["changes"]
    assert set(change) == {
        "id", "time", "uid", "user", "action", "command", "root", "target", "target_pids", "status",
        "error", "steps", "created", "moved", "notes", "undone",
    }  # fmt: skip
    assert change["root"] == str(host.root)
    assert run(host.root, "undo") == (0, "undid change 1: limit process 400 (job)\n")
    assert snapshot(host.root) == before
    assert run(host.root, "undo")[0] == 1
    assert "nothing to undo" in capsys.readouterr().err


def test_control_layer_loads_no_ui(tmp_path: Path) -> None:
    probe = (
        "import io, sys\n"
        "import cgscope.control.apply, cgscope.control.freeze, cgscope.control.limits, cgscope.control.move\n"
        "import cgscope.control.nsenter, cgscope.control.undo\n"
        "from cgscope.cli import main\n"
        "main(['history', '--json'], out=io.StringIO())\n"
        "main(['limit', '4194304', '--cpu', '20%', '--dry-run'], out=io.StringIO())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    )
    env = {**os.environ, "CGSCOPE_STATE": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "[]"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "status"), [("y\n", 0), ("\n", 1), ("no\n", 1)])
def test_confirmation_on_a_terminal(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answer: str,
    status: int,
) -> None:
    """Changing a cgroup that holds other processes lists them and asks; only yes goes on."""
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    host = control_host(tmp_path, "hybrid")
    before = snapshot(host.root)
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    shared = "/system.slice/app.service"
    assert run(host.root, "limit", "300", "--cpu", "20%", "--into", shared)[0] == status
    err = capsys.readouterr().err
    assert "processes outside process 300 (app) that this also changes:\n      301  app --worker" in err
    assert "Apply this change? [y/N] " in err
    if status:
        assert err.endswith("cgscope: nothing changed: not confirmed\n")
        assert snapshot(host.root) == before
    else:
        quota = host.path(f"/sys/fs/cgroup/cpu{shared}/cpu.cfs_quota_us")
        assert quota.read_text() == "20000\n"
