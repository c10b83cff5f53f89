"""Cgroup counters read from fixture roots (cgroup-v2.rst and cgroup-v1/*.rst formats), through the model
and the CLI: `cgscope --root DIR top` and `procview` on a v2 host and on a hybrid one."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from fakehost import FakeHost
from helpers import cli, files
from hosts.counters import CID, MIB, V1_CG, V2_CG, hybrid_host, v2_host

from cgscope.cli import main
from cgscope.fs.files import counting_opens
from cgscope.fs.hostroot import HostRoot
from cgscope.model.cgdirs import locate
from cgscope.model.containers import group_containers
from cgscope.model.derive import Usage, derive
from cgscope.model.usage import Overview
from cgscope.model.usage import Sampler as CgroupSampler
from cgscope.render.top import cpu_json
from cgscope.sampling import Sampler


def top_json(h: FakeHost) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(cli(h, "top", "--json", "-d", "0.1"))
    return data


# -- cgroup v2 -----------------------------------------------------------------------------------------


def test_v2_container_figures_and_limits_on_the_path(tmp_path: Path) -> None:
    data = top_json(v2_host(tmp_path))
    [c] = data["containers"]
    assert (c["name"], c["runtime"], c["shared_cgroup"]) == ("web", "docker", False)
    assert c["cpu"] == {
        "host_percent": 0.0, "limit_cpus": 0.2, "limit_percent": 0.0, "throttled_percent": 0.0,
        "throttled_seconds": 0.0, "quota_cpus": 0.2, "cpuset": "1-2",
    }  # fmt: skip
    assert c["memory"] == {
        "usage_bytes": 100 * MIB,
        "working_set_bytes": 75 * MIB,  # minus inactive_file
        "limit_bytes": 200 * MIB,  # system.slice's memory.max is smaller than the scope's
        "limit_percent": 50.0,
        "anon_bytes": 60 * MIB,
        "file_bytes": 40 * MIB,
        "swap_bytes": 2 * MIB,
        "oom_kills": 1,
    }
    assert c["tasks"] == {"current": 3, "max": 1000}  # system.slice's pids.max
    assert c["io"] == {
        "read_bytes_per_s": 0,
        "write_bytes_per_s": 0,
        "read_ops_per_s": 0.0,
        "write_ops_per_s": 0.0,
    }
    assert c["pressure"]["cpu"] == {
        "some": {"avg10": 12.5, "avg60": 3.0},
        "full": {"avg10": 0.0, "avg60": 0.0},
    }
    assert c["pressure"]["io"]["some"]["avg10"] == 1.25


def test_v2_host_row(tmp_path: Path) -> None:
    host = top_json(v2_host(tmp_path))["host"]
    assert (host["hostname"], host["cgroup_mode"]) == ("node1", "v2")
    assert host["cpu"]["limit_cpus"] == 4.0 and host["cpu"]["quota_cpus"] is None
    assert host["memory"]["limit_bytes"] == 8039412 * 1024
    assert host["memory"]["usage_bytes"] == (8039412 - 3919244) * 1024  # all that is not free
    assert host["memory"]["working_set_bytes"] == (8039412 - 3919244 - 1507900) * 1024
    assert host["memory"]["oom_kills"] == 2
    assert host["tasks"] == {"current": 214, "max": 63449}
    assert host["pressure"]["memory"]["some"]["avg10"] == 12.5


def test_v2_rates_between_two_samples(tmp_path: Path) -> None:
    h = v2_host(tmp_path)
    overview = Overview(HostRoot.at(h.root))
    before = overview.sample()
    top = h.cgroup_dir("unified", V2_CG)
    assert top is not None
    files(
        top,
        cpu__stat="usage_usec 5600000\nuser_usec 4500000\nsystem_usec 1100000\n"
        "nr_periods 130\nnr_throttled 120\nthrottled_usec 9400000\n",
        io__stat="8:0 rbytes=53248 wbytes=3072 rios=13 wios=3 dbytes=1024 dios=1\n",
    )
    after = overview.sample()
    u = derive(before.containers[CID], after.containers[CID], 3.0)
    assert u.cpu is not None and u.io is not None
    assert u.cpu.host_percent == pytest.approx(20.0) and u.cpu.limit_percent == pytest.approx(100.0)
    assert u.cpu.throttled_percent == pytest.approx(100.0) and u.cpu.throttled_seconds == pytest.approx(2.4)
    assert (u.io.read_bytes_per_s, u.io.read_ops_per_s) == (4096.0, 1.0)


def test_a_cgroup_made_again_has_no_rate_for_one_refresh(tmp_path: Path) -> None:
    """The container's cgroup removed and made again under the same path between two refreshes (its
    counters from zero, a new directory): its rates are unknown for one refresh (never a fake 0), then
    right again; levels stay known throughout."""
    h = v2_host(tmp_path)
    top = h.cgroup_dir("unified", V2_CG)
    assert top is not None
    sampler = Sampler(HostRoot.at(h.root))

    def refresh() -> Usage:
        return sampler.sample(frozenset()).container_usage[CID].usage

    def used(usec: int) -> str:
        return f"usage_usec {usec}\nuser_usec {usec}\nsystem_usec 0\n"

    refresh()
    second = refresh().cpu  # rates known from the second refresh
    assert second is not None and second.host_percent == 0.0
    made = tmp_path / "made-again"  # a new directory, then in the old one's place
    shutil.copytree(top, made)
    shutil.rmtree(top)
    made.rename(top)
    files(top, cpu__stat=used(200_000), io__stat="8:0 rbytes=0 wbytes=0 rios=0 wios=0 dbytes=0 dios=0\n")
    again = refresh()
    assert again.interval is None and again.io is None
    assert again.cpu is not None and again.cpu.host_percent is None and again.cpu.limit_percent is None
    assert again.memory is not None and again.memory.usage_bytes == 100 * MIB
    shown = cpu_json(again.cpu)
    assert shown is not None and shown["host_percent"] is None  # JSON: null
    files(top, cpu__stat=used(700_000))
    right = refresh()
    assert right.cpu is not None and right.interval is not None
    assert right.cpu.host_percent == pytest.approx(0.5 / right.interval * 100)


def test_v2_procview(tmp_path: Path) -> None:
    h = v2_host(tmp_path)
    meminfo = {line.partition(":")[0]: line for line in cli(h, "procview", "web", "meminfo").splitlines()}
    assert meminfo["MemTotal"] == "MemTotal:         204800 kB"
    assert meminfo["MemFree"] == "MemFree:          102400 kB"
    assert meminfo["KernelStack"] == "KernelStack:         512 kB"
    cpuinfo = cli(h, "procview", CID[:12], "/proc/cpuinfo")
    assert cpuinfo.count("processor\t:") == 1 and "apicid\t\t: 2\n" in cpuinfo  # host CPU 1, as 0
    stat = cli(h, "procview", "4242", "stat").splitlines()
    # v2 has no per-CPU split: 4 s user and 1 s system on the one visible CPU
    assert stat[:2] == ["cpu  400 0 100 175500 0 0 0 0 0 0", "cpu0 400 0 100 175500 0 0 0 0 0 0"]
    assert "procs_running 1" in stat
    assert cli(h, "procview", "web", "loadavg") == "1.00 1.00 1.00 1/1 1\n"
    assert cli(h, "procview", "web", "diskstats") == "   8       0 sda 10 0 80 0 3 0 6 0 0 0 0 1 0 2 0 0 0\n"
    assert cli(h, "procview", "web", "cpu/online") == "0\n"
    # uptime: init started 9000 s after boot, host up 10000.50 s; 0.2 CPU allowance less 5 s used
    assert cli(h, "procview", "web", "uptime") == "1000.50 195.10\n"


def test_procview_json_and_every_file(tmp_path: Path) -> None:
    h = v2_host(tmp_path)
    data = json.loads(cli(h, "procview", "web", "--json"))
    ref = {"id": CID, "name": "web", "runtime": data["container"]["runtime"], "init_pid": data["pid"]}
    assert data["container"] == ref
    assert data["cgroup"] == {"unified": V2_CG}
    assert list(data["files"]) == [
        "/proc/meminfo", "/proc/cpuinfo", "/proc/stat", "/proc/uptime", "/proc/loadavg", "/proc/swaps",
        "/proc/diskstats", "/sys/devices/system/cpu/online",
    ]  # fmt: skip
    text = cli(h, "procview", "web")
    assert text.startswith("==> /proc/meminfo <==\nMemTotal:") and "\n\n==> /proc/cpuinfo <==\n" in text


def test_procview_of_a_host_process_uses_its_own_cgroups(tmp_path: Path) -> None:
    h = v2_host(tmp_path)
    h.add_process(77, "cron", ["cron"], cgroup="/system.slice/cron.service")
    service = h.cgroup_dir("unified", "/system.slice/cron.service")
    assert service is not None
    files(
        service,
        cpu__stat="usage_usec 1000\nuser_usec 600\nsystem_usec 400\n",
        memory__current=f"{MIB}\n",
        memory__max="max\n",
        memory__stat="anon 1048576\nfile 0\n",
        memory__events="oom_kill 0\n",
    )
    meminfo = cli(h, "procview", "77", "meminfo")
    assert meminfo.startswith("MemTotal:         204800 kB\n")  # system.slice's memory.max binds it too


def test_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    h = v2_host(tmp_path)
    assert main(["--root", str(h.root), "procview", "nosuch"]) == 1
    assert "no container named 'nosuch'" in capsys.readouterr().err
    assert main(["--root", str(h.root), "procview", "99999"]) == 1
    assert "no such process: 99999" in capsys.readouterr().err
    assert main(["--root", str(h.root), "procview", "web", "slabinfo"]) == 2
    assert "no view of 'slabinfo'" in capsys.readouterr().err
    assert main(["--root", str(h.root), "top", "-n", "0"]) == 2
    assert main(["--root", str(h.root), "top", "-d", "-1"]) == 2
    assert main(["--root", str(h.root), "top", "nosuch", "-d", "0.1"]) == 1


def test_top_table_and_processes(tmp_path: Path) -> None:
    h = v2_host(tmp_path)
    text = cli(h, "top", "-d", "0.1", "-n", "2")
    assert text.count("NAME") == 2  # two refreshes
    header, host_row, web = text.splitlines()[:3]
    assert header.split()[:8] == ["NAME", "RUNTIME", "STATE", "CPU%", "CPUS", "%CPU", "LIM", "THR%"]
    assert host_row.startswith("(host)") and web.startswith("web ")
    # The working set (usage 100M less 25M of inactive page cache) against the limit, and its share.
    assert web.split()[7:11] == ["75.0M", "200M", "37.5", "3/1000"]
    data = json.loads(cli(h, "top", "web", "--json", "-d", "0.1"))
    [p] = data["processes"]
    assert (p["pid"], p["nspid"], p["user"], p["command"]) == (4242, 1, "root", "nginx -g daemon off;")
    rss = 400 * os.sysconf("SC_PAGE_SIZE")  # stat's rss field, in pages
    assert p["rss_bytes"] == rss
    assert p["memory_percent"] == pytest.approx(rss / (200 * MIB) * 100, abs=0.01)  # of what it may use
    table = cli(h, "top", "web", "-d", "0.1")
    assert " PID  NSPID  USER  S  CPU%   RSS  %MEM  COMMAND\n" in table and "nginx -g daemon off;" in table


# -- hybrid: v1 controllers beside cgroup2 -------------------------------------------------------------


def test_hybrid_container_figures(tmp_path: Path) -> None:
    data = top_json(hybrid_host(tmp_path))
    [c] = data["containers"]
    assert c["cgroup"]["memory"] == V1_CG
    assert c["cpu"]["quota_cpus"] == 0.25  # /docker's 25000/100000 is below the container's own 50000
    assert c["cpu"]["limit_cpus"] == 0.25 and c["cpu"]["cpuset"] == "2-3"
    assert c["memory"]["limit_bytes"] == 256 * MIB  # hierarchical_memory_limit
    assert c["memory"]["working_set_bytes"] == 75 * MIB
    assert c["memory"]["swap_bytes"] == 0 and c["memory"]["oom_kills"] == 0
    assert c["tasks"] == {"current": 5, "max": 64}
    assert c["io"]["read_bytes_per_s"] == 0
    assert c["pressure"]["cpu"]["some"]["avg10"] == 12.5  # from its cgroup2 directory
    assert set(c["pressure"]) == {"cpu"}


def test_hybrid_procview(tmp_path: Path) -> None:
    h = hybrid_host(tmp_path)
    assert cli(h, "procview", "web", "meminfo").startswith(
        "MemTotal:         262144 kB\nMemFree:          159744 kB\n"
    )
    cpuinfo = cli(h, "procview", "web", "cpuinfo")
    assert cpuinfo.count("processor\t:") == 1 and "core id\t\t: 2\n" in cpuinfo  # host CPU 2, shown as 0
    # cpuacct.usage_all: cpu2's own 30 s + 10 s, plus cpu3's 5 s + 1 s (not shown) folded in
    stat = cli(h, "procview", "web", "stat").splitlines()
    assert stat[1] == "cpu0 3500 0 1100 215400 0 0 0 0 0 0"  # 880000 * 0.25 - 4600
    assert cli(h, "procview", "web", "diskstats") == "   8       0 sda 2 0 16 0 1 0 8 0 0 0 0 0 0 0 0 0 0\n"
    # swap accounted (total_swap) without a memsw limit: the host's swap, none of it used
    assert cli(h, "procview", "web", "swaps").splitlines()[1] == f"{'none':<40}virtual\t\t8388604\t\t0\t\t0"


def test_overview_finds_containers_again_only_when_the_cgroup_tree_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = v2_host(tmp_path)
    overview = Overview(HostRoot.at(h.root))
    calls: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return group_containers(*args, **kwargs)

    monkeypatch.setattr("cgscope.model.usage.group_containers", counted)
    assert set(overview.sample().containers) == {CID}
    overview.sample()
    assert len(calls) == 1  # the same cgroups: no file per process read again
    other = "9" * 64
    h.add_process(5000, "redis", ["redis-server"], cgroup=f"/system.slice/docker-{other}.scope")
    scope = h.cgroup_dir("unified", f"/system.slice/docker-{other}.scope")
    assert scope is not None
    files(scope, cpu__stat="usage_usec 10\nuser_usec 5\nsystem_usec 5\n")
    assert set(overview.sample().containers) == {CID, other}
    assert len(calls) == 2


def test_a_bare_container_in_a_shared_cgroup_is_marked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = v2_host(tmp_path)
    session = "/user.slice/user-1000.slice/session-1.scope"
    h.add_process(600, "bash", ["-bash"], cgroup=session, uid=1000)
    h.add_process(601, "unshare", ["unshare", "-p", "-f", "sh"], ppid=600, cgroup=session,
                  ns={"mnt": 4026532410})  # fmt: skip
    h.add_process(602, "sh", ["sh"], ppid=601, cgroup=session, nspid=[602, 1],
                  ns={"pid": 4026532411, "mnt": 4026532410})  # fmt: skip
    scope = h.cgroup_dir("unified", session)
    assert scope is not None
    files(scope, cpu__stat="usage_usec 10\nuser_usec 5\nsystem_usec 5\n")
    rows = {c["name"]: c for c in top_json(h)["containers"]}
    assert rows["sh"]["shared_cgroup"] is True  # bash lives in its cgroup too
    assert rows["web"]["shared_cgroup"] is False
    assert "sh*" in cli(h, "top", "-d", "0.1")
    assert "shares its cgroup with other processes" in capsys.readouterr().err


def test_containers_counting_in_one_blkio_cgroup_share_one_read(tmp_path: Path) -> None:
    """Bare containers that never joined a blkio cgroup all count in the hierarchy's root."""
    h = hybrid_host(tmp_path)
    root = h.cgroup_dir("blkio", "/")
    assert root is not None
    files(
        root,
        blkio__throttle__io_service_bytes_recursive="8:0 Read 4096\n8:0 Write 0\nTotal 4096\n",
        blkio__throttle__io_serviced_recursive="8:0 Read 1\n8:0 Write 0\nTotal 1\n",
    )
    host = HostRoot.at(h.root)
    sampler = CgroupSampler(host)
    a, b = locate(host, {"blkio": "/", "memory": V1_CG, "pids": V1_CG}), locate(host, {"blkio": "/"})
    for _ in range(2):
        sampler.new_round()
        with counting_opens() as opens:
            first, second = sampler.cgroup(a), sampler.cgroup(b)
        assert first.io == second.io and first.io is not None
        assert opens.files[os.fspath(root / "blkio.throttle.io_service_bytes_recursive")] == 1


def test_limits_are_read_again_once_old_or_after_a_change_made_here(tmp_path: Path) -> None:
    """The dashboard reads limits every few seconds (tui/app.LIMITS_SECONDS), not every refresh: a quota
    written meanwhile shows once they are that old, or at the next refresh after a change it made
    (Sampler.limits_changed)."""
    h = v2_host(tmp_path)
    top = h.cgroup_dir("unified", V2_CG)
    assert top is not None
    sampler = Sampler(HostRoot.at(h.root), limits_seconds=3600)

    def quota() -> float | None:
        cpu = sampler.sample(frozenset()).container_usage[CID].usage.cpu
        assert cpu is not None
        return cpu.quota_cpus

    assert quota() == pytest.approx(0.2)
    files(top, cpu__max="50000 100000\n")
    assert quota() == pytest.approx(0.2)  # an hour young: kept
    sampler.limits_changed()
    assert quota() == pytest.approx(0.5)
