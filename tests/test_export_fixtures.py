"""`cgscope export` on fixture hosts (v2, hybrid, v1): each series from the file it comes from, absent
where a cgroup version has no such figure, labelled as cAdvisor labels it, accepted by `promtool check
metrics`, and pinned in a golden file per host.

Regenerate the golden files (tests/goldens/export/*.prom) after a deliberate change of the output:

    CGSCOPE_UPDATE_GOLDENS=1 python -m pytest tests/test_export_fixtures.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from exporthosts import (
    APP_CG,
    HOSTS,
    MIB,
    ODD_CG,
    SANDBOX_CG,
    V1_CG,
    V2_CG,
    export_odd_name_host,
    of,
    scrape,
    series,
    value,
)
from helpers import files
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

from cgscope.export.server import Exporter
from cgscope.export.source import Source
from cgscope.fs.hostroot import HostRoot

GOLDENS = Path(__file__).parent / "goldens" / "export"
# Series whose value is the time of the scrape or the exporter's own cost.
VOLATILE = re.compile(
    r"^((?:container_last_seen|cgscope_scrape_duration_seconds|cgscope_scrape_cpu_seconds_total)\S*) .*$",
    re.M,
)


@pytest.fixture(params=sorted(HOSTS))
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_v2_container(tmp_path: Path) -> None:
    data = series(scrape(HOSTS["v2"](tmp_path)))
    web = {"id": V2_CG, "name": "web", "image": "nginx:1.25"}
    assert value(data, "container_cpu_usage_seconds_total", cpu="total", **web) == 5.0  # cpu.stat usage_usec
    assert value(data, "container_cpu_user_seconds_total", **web) == 4.0
    assert value(data, "container_cpu_system_seconds_total", **web) == 1.0
    assert value(data, "container_cpu_cfs_periods_total", **web) == 100
    assert value(data, "container_cpu_cfs_throttled_periods_total", **web) == 90
    assert value(data, "container_cpu_cfs_throttled_seconds_total", **web) == 7.0
    assert value(data, "container_spec_cpu_quota", **web) == 20000  # its own cpu.max, microseconds
    assert value(data, "container_spec_cpu_period", **web) == 100000
    assert value(data, "container_memory_usage_bytes", **web) == 100 * MIB
    assert value(data, "container_memory_working_set_bytes", **web) == 75 * MIB  # minus inactive_file
    assert value(data, "container_memory_rss", **web) == 60 * MIB
    assert value(data, "container_memory_cache", **web) == 40 * MIB
    assert value(data, "container_memory_swap", **web) == 2 * MIB
    assert value(data, "container_memory_mapped_file", **web) == 8 * MIB
    assert value(data, "container_spec_memory_limit_bytes", **web) == 256 * MIB  # its own memory.max
    assert value(data, "container_oom_events_total", **web) == 1  # memory.events oom_kill
    events = {
        dict(k)["event"]: v for k, v in of(data, "cgscope_container_memory_events_total", **web).items()
    }
    assert events == {"low": 0, "high": 0, "max": 12, "oom": 1, "oom_kill": 1, "oom_group_kill": 0}
    assert value(data, "container_threads", **web) == 3
    assert value(data, "container_threads_max", **web) == 0  # pids.max "max": cAdvisor's 0
    assert value(data, "container_processes", **web) == 1
    assert value(data, "container_pressure_cpu_waiting_seconds_total", **web) == 0.098765  # some total
    assert value(data, "container_pressure_cpu_stalled_seconds_total", **web) == 0.0  # full total
    assert (
        value(data, "cgscope_container_pressure_avg10_ratio", kind="waiting", resource="cpu", **web) == 0.125
    )
    assert value(data, "cgscope_container_visible_cpus", **web) == 1  # cpuset 1-2, quota 0.2 CPU
    assert value(data, "cgscope_container_visible_memory_bytes", **web) == 200 * MIB  # system.slice's max
    boot = 1764250000  # /proc/stat btime; the init started 900,000 ticks after
    assert value(data, "container_start_time_seconds", **web) == boot + 900_000 / os.sysconf("SC_CLK_TCK")
    assert not of(data, "container_memory_failcnt")  # v1 only
    info = of(data, "cgscope_container_info", **web)
    assert [dict(k) for k in info] == [
        {
            **web, "container_id": "4f3c" + "0123456789abcdef" * 3 + "deadbeefcafe", "runtime": "docker",
            "init_pid": "4242", "shared_namespaces": "cgroup,ipc,net,time,user,uts", "shared_cgroup": "false",
        }
    ]  # fmt: skip


def test_v2_kubernetes_labels(tmp_path: Path) -> None:
    """kubelet's labels, which the kubernetes-mixin selects on: the pod's sandbox is container="POD"."""
    data = series(scrape(HOSTS["v2"](tmp_path)))
    pod = {"pod": "web-0", "namespace": "shop"}
    app = of(data, "container_cpu_usage_seconds_total", container="app", **pod)
    assert [dict(k)["id"] for k in app] == [APP_CG] and list(app.values()) == [3.5]
    assert dict(next(iter(app)))["image"] == "docker.io/library/busybox:latest"
    assert dict(next(iter(app)))["name"] == "shop/web-0/app"
    sandbox = of(data, "container_memory_usage_bytes", container="POD", **pod)
    assert [dict(k)["id"] for k in sandbox] == [SANDBOX_CG] and list(sandbox.values()) == [MIB]
    # cpu.weight 39, what kubelet writes for 1024 shares (1 CPU requested); the mapping loses a little
    assert value(data, "container_spec_cpu_shares", container="app", **pod) == 998
    assert not of(data, "container_spec_cpu_quota", container="app")  # cpu.max "max": no quota


def test_hybrid_container(tmp_path: Path) -> None:
    data = series(scrape(HOSTS["hybrid"](tmp_path)))
    web = {"id": V1_CG, "name": "web"}
    ticks = os.sysconf("SC_CLK_TCK")
    assert value(data, "container_cpu_usage_seconds_total", **web) == 46.0  # v1 cpuacct.usage
    assert value(data, "container_cpu_user_seconds_total", **web) == 3500 / ticks  # cpuacct.stat
    assert value(data, "container_cpu_system_seconds_total", **web) == 1100 / ticks
    assert value(data, "container_cpu_cfs_throttled_seconds_total", **web) == 0.123456789  # throttled_time ns
    assert value(data, "container_spec_cpu_quota", **web) == 50000  # its own, not /docker's 25000
    assert value(data, "container_spec_cpu_shares", **web) == 512
    assert value(data, "container_memory_failcnt", **web) == 7
    assert value(data, "container_spec_memory_limit_bytes", **web) == 256 * MIB
    assert value(data, "container_threads_max", **web) == 64
    assert value(data, "container_oom_events_total", **web) == 0  # memory.oom_control oom_kill
    # cgroup2 holds no controller on this host: only its cpu.pressure, and no memory.events
    assert value(data, "container_pressure_cpu_waiting_seconds_total", **web) == 0.098765
    assert not of(data, "container_pressure_memory_waiting_seconds_total", **web)
    events = of(data, "cgscope_container_memory_events_total", **web)
    assert {dict(k)["event"]: v for k, v in events.items()} == {"oom_kill": 0}


def test_v1_container_has_no_pressure_and_unlimited_reads_zero(tmp_path: Path) -> None:
    data = series(scrape(HOSTS["v1"](tmp_path)))
    web = {"id": V1_CG, "name": "web"}
    assert value(data, "container_cpu_usage_seconds_total", **web) == 12.0
    assert value(data, "container_spec_memory_limit_bytes", **web) == 0  # PAGE_COUNTER_MAX: no limit
    assert not of(data, "container_spec_cpu_quota", **web)  # cfs_quota_us -1
    assert value(data, "container_spec_cpu_period", **web) == 100000
    assert value(data, "container_oom_events_total", **web) == 3
    assert value(data, "container_memory_working_set_bytes", **web) == 56 * MIB
    assert not [n for n, k in data if n.startswith("container_pressure_") and ("id", V1_CG) in k]
    assert not of(data, "container_memory_swap", **web)  # no swap accounting (no total_swap)


def test_machine_and_host_rows(tmp_path: Path) -> None:
    data = series(scrape(HOSTS["v2"](tmp_path)))
    assert value(data, "machine_cpu_cores") == 4  # /sys/devices/system/cpu/online 0-3
    assert value(data, "machine_memory_bytes") == 8039412 * 1024  # MemTotal
    assert value(data, "container_oom_events_total", id="/") == 2  # /proc/vmstat oom_kill
    assert value(data, "container_threads", id="/") == 214  # /proc/loadavg
    assert value(data, "cgscope_samples_total") == 1


def test_a_container_that_does_not_own_its_cgroup_has_only_its_info(tmp_path: Path) -> None:
    h = HOSTS["v2"](tmp_path)
    session = "/user.slice/user-1000.slice/session-1.scope"
    h.add_process(600, "bash", ["-bash"], cgroup=session, uid=1000)
    h.add_process(602, "sh", ["sh"], ppid=600, cgroup=session, nspid=[602, 1],
                  ns={"pid": 4026532411, "mnt": 4026532410})  # fmt: skip
    scope = h.cgroup_dir("unified", session)
    assert scope is not None
    files(scope, cpu__stat="usage_usec 10\nuser_usec 5\nsystem_usec 5\n")
    data = series(scrape(h))
    [info] = of(data, "cgscope_container_info", runtime="bare")
    assert dict(info)["shared_cgroup"] == "true" and dict(info)["id"] == session
    assert not of(data, "container_cpu_usage_seconds_total", id=session)  # the session's, not its own


def test_promtool_accepts_each_fixture_host(tmp_path: Path, mode: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not on PATH (Debian package prometheus; .ci/run installs it)")
    text = scrape(HOSTS[mode](tmp_path))
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_golden_file_of_each_fixture_host(tmp_path: Path, mode: str) -> None:
    text = VOLATILE.sub(r"\1 <volatile>", scrape(HOSTS[mode](tmp_path)))
    golden = GOLDENS / f"{mode}.prom"
    if os.environ.get("CGSCOPE_UPDATE_GOLDENS"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), "no golden file: run with CGSCOPE_UPDATE_GOLDENS=1 (see this module's docstring)"
    assert text == golden.read_text(), "output changed: if deliberately, regenerate (module docstring)"


def test_a_cgroup_name_that_is_not_utf8_is_served_with_its_bytes_escaped(tmp_path: Path) -> None:
    """Label values are UTF-8: an undecodable byte of a cgroup's name is served as "\\xff", as cgscope's
    tables show it, and every series of the cgroup is still served."""
    h = export_odd_name_host(tmp_path)
    text = scrape(h)
    odd = ODD_CG.replace("box-odd", r"box\xff\xfe")
    data = series(text)
    assert value(data, "container_cpu_usage_seconds_total", id=odd) == 0.25
    [info] = of(data, "cgscope_container_info", id=odd)
    assert dict(info)["runtime"] == "bare" and dict(info)["name"] == r"box\xff\xfe"
    names = {n for n, k in data if ("id", odd) in k}
    assert names == {n for n, k in data if ("id", SANDBOX_CG) in k}
    served = Exporter(Source(HostRoot.at(h.root)), 0.0).body(openmetrics=True).decode()
    families = parse_openmetrics(served)  # type: ignore[no-untyped-call]
    assert odd in {s.labels.get("id") for f in families for s in f.samples}
    promtool = shutil.which("promtool")
    if promtool is not None:
        done = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_own_settings_are_read_again_after_spec_seconds_and_counters_every_time(tmp_path: Path) -> None:
    """As cAdvisor's spec: a limit set since the last reading shows once the settings are spec_seconds
    old; the counters are read on every scrape while they change (tests/test_export_idle.py)."""
    h = HOSTS["v2"](tmp_path)
    cached, fresh = (Source(HostRoot.at(h.root), spec_seconds=s) for s in (3600.0, 0.0))
    for source in (cached, fresh):
        source.read()
    directory = h.cgroup_dir("unified", V2_CG)
    assert directory is not None
    counters = (
        "usage_usec 6000000\nuser_usec 1\nsystem_usec 1\nnr_periods 101\nnr_throttled 91\nthrottled_usec 7\n"
    )
    files(
        directory,
        cpu__max="50000 100000\n",
        memory__max=f"{512 * MIB}\n",
        pids__max="77\n",
        cpu__stat=counters,
    )

    def web(source: Source) -> tuple[float | None, ...]:
        [f] = [f for labels, f in source.read().cgroups if labels.id == V2_CG]
        return f.cpu_seconds, f.cfs_periods, f.spec_cpu_quota, f.spec_memory_limit, f.threads_max

    assert web(cached) == (6.0, 101, 20000, 256 * MIB, 0)
    assert web(fresh) == (6.0, 101, 50000, 512 * MIB, 77)


def test_slow_figures_are_read_again_after_slow_seconds_and_usage_every_time(tmp_path: Path) -> None:
    """PSI, memory events and the processes are read at most every slow_seconds (docs/export.md,
    "Staleness"): a change shows once they are that old; CPU and memory usage on every reading."""
    h = HOSTS["v2"](tmp_path)
    cached, fresh = (Source(HostRoot.at(h.root), slow_seconds=s) for s in (3600.0, 0.0))
    for source in (cached, fresh):
        source.read()
    directory = h.cgroup_dir("unified", V2_CG)
    assert directory is not None
    psi = "some avg10=1.00 avg60=0 avg300=0 total=4000000\nfull avg10=0.00 avg60=0 avg300=0 total=0\n"
    files(
        directory,
        memory__events="low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n",
        memory__current=f"{100 * MIB}\n",
        cpu__pressure=psi,
    )

    def web(source: Source) -> tuple[float | None, ...]:
        [f] = [f for labels, f in source.read().cgroups if labels.id == V2_CG]
        return f.memory_usage, f.oom_kills, f.memory_events.get("max"), f.pressure["cpu"].waiting

    before = web(cached)
    assert before[0] == 100 * MIB and before[1:] != (2, 3, 4.0)
    assert web(fresh) == (100 * MIB, 2, 3, 4.0)
