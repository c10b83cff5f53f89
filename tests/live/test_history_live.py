"""`cgscope report` and `cgscope replay` on what `cgscope record` wrote at 0.5 s while a container of the
test's own ran a busy loop under a 20 % quota, then had a process OOM-killed, then exited: the report
shows the CPU against the quota, the OOM kill with its victim's pid and command, and the exit; the replay
at a time in the middle of the busy stretch shows the container at ~20 % (Pilot)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

from tui.conftest import drawn

from cgscope.cli import main
from cgscope.fs.hostroot import HostRoot
from cgscope.history.replay import Replay
from cgscope.history.report import summarize
from cgscope.history.store import index, rollups_of, shards
from cgscope.tui.replay import ReplayApp
from cgscope.tui.screens.containers import ContainersScreen

from .containers import bare_container
from .recorder import recording
from .test_record_live import VICTIM, run_hog
from .usage import BUSY_LOOP, MIB, controller_dir, set_memory_limit, set_quota


def record_a_busy_container(store: Path, state: Path) -> tuple[str, float, float, int]:
    """The container's id, when its busy stretch began and ended, and the pid the OOM killer took."""
    with recording(store, 0.5, state) as rec:
        rec.wait_said("recording every")
        with bare_container(script=f"{BUSY_LOOP} & wait", members=2, member_comm="sh") as bc:
            set_quota(bc.cgroup, 20_000)
            set_memory_limit(bc.cgroup, 64 * MIB)
            memory, version = controller_dir(bc.cgroup, "memory")
            if version == 1 and (memory / "memory.memsw.limit_in_bytes").exists():
                (memory / "memory.memsw.limit_in_bytes").write_text(str(64 * MIB))
            busy_from = time.time() + 1.0
            time.sleep(6)
            busy_until = time.time()
            victim = run_hog(bc)
            time.sleep(2)
            cid = f"pid-{bc.namespaces['pid']}"
        time.sleep(2)
        assert rec.stop() == 0
    return cid, busy_from, busy_until, victim


async def test_report_and_replay_tell_what_happened(tmp_path: Path) -> None:
    store = tmp_path / "history"
    cid, busy_from, busy_until, victim = record_a_busy_container(store, tmp_path)
    out = io.StringIO()
    assert main(["report", "--dir", str(store), "--since", "5 min ago", cid, "--json"], out=out) == 0
    data: Any = json.loads(out.getvalue())
    [c] = data["containers"]
    assert c["cpu"]["allowance_cpus"] == 0.2
    assert 80 <= c["cpu"]["peak_percent_of_limit"] <= 130, c  # its quota, all of it, at its busiest
    assert {"at": c["oom_kills"][0]["at"], "victim_pid": victim, "victim_comm": VICTIM} in c["oom_kills"]
    assert data["events"][-1]["kind"] == "exited"
    assert any(rollups_of(p).exists() for p in shards(store))  # the recorder's store rolled its frames up
    assert summarize(index(store, rollups=True)) == summarize(index(store))  # the same by frames alone

    replay = Replay(HostRoot.at(Path("/")), index(store))
    replay.go((busy_from + busy_until) / 2)
    app = ReplayApp(replay, clock=False)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await drawn(pilot)
        assert isinstance(screen, ContainersScreen)
        cpu = float(screen.table.cell(cid, "cpu").text)
        assert 12 <= cpu <= 28, cpu  # ~20 % of one CPU: the quota
