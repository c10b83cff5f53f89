"""Rates and shares from two hand-built samples: model/derive.py is pure, so every figure is exact."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cgscope.fs.cgroup_cpu import CpuCounters
from cgscope.fs.cgroup_io import IoDevice
from cgscope.fs.cgroup_memory import MemoryCounters, MemoryStat
from cgscope.fs.cgroup_pids import PidsCounters
from cgscope.fs.pressure import Pressure, PressureLine
from cgscope.model.cgdirs import CgroupDirs
from cgscope.model.containers import Container, Inventory
from cgscope.model.derive import allowance, derive, derive_overview, memory_allowance, process_usage
from cgscope.model.process import Process
from cgscope.model.process_sampler import ProcessSample
from cgscope.model.usage import OverviewSample, Sample, Watched

MIB = 1 << 20
SEC = 1_000_000_000


def sample(
    t: float,
    usage_s: float,
    *,
    cpus: tuple[int, ...] = (0, 1),
    quota: float | None = None,
    periods: int | None = None,
    throttled: int | None = None,
    throttled_s: float | None = None,
    memory: MemoryCounters | None = None,
    io: dict[tuple[int, int], IoDevice] | None = None,
) -> Sample:
    cpu = CpuCounters(
        int(usage_s * SEC),
        periods=periods,
        throttled_periods=throttled,
        throttled_ns=None if throttled_s is None else int(throttled_s * SEC),
    )
    return Sample(t, cpu, cpus, quota, memory, PidsCounters(3, 100), io)


def test_a_busy_loop_capped_at_a_fifth_of_a_cpu() -> None:
    # cfs_quota_us 20000 / cfs_period_us 100000 over 3 s: 30 periods, each throttled, 0.6 s of CPU.
    prev = sample(10.0, 5.0, quota=0.2, periods=100, throttled=90, throttled_s=7.0)
    cur = sample(13.0, 5.6, quota=0.2, periods=130, throttled=120, throttled_s=9.4)
    cpu = derive(prev, cur, 3.0).cpu
    assert cpu is not None
    assert cpu.host_percent == pytest.approx(20.0)
    assert cpu.limit_cpus == pytest.approx(0.2)
    assert cpu.limit_percent == pytest.approx(100.0)
    assert cpu.throttled_percent == pytest.approx(100.0)
    assert cpu.throttled_seconds == pytest.approx(2.4)
    assert cpu.quota_cpus == 0.2


def test_allowance_is_the_quota_capped_by_the_cpuset() -> None:
    assert allowance((0, 1, 2, 3), None) == 4.0
    assert allowance((0, 1, 2, 3), 1.5) == 1.5
    assert allowance((2,), 3.0) == 1.0  # a quota of 3 CPUs on a cpuset of one: one CPU
    cpu = derive(sample(0, 0, cpus=(2,), quota=3.0), sample(2, 1.0, cpus=(2,), quota=3.0), 2.0).cpu
    assert cpu is not None
    assert (cpu.host_percent, cpu.limit_cpus, cpu.limit_percent) == (50.0, 1.0, 50.0)


def test_no_quota_means_no_throttling_figures() -> None:
    cpu = derive(sample(0, 1.0, periods=5, throttled=1), sample(1, 2.5, periods=9, throttled=3), 1.0).cpu
    assert cpu is not None
    assert cpu.host_percent == pytest.approx(150.0)  # 1.5 CPUs busy, as top shows a multi-threaded process
    assert cpu.limit_percent == pytest.approx(75.0)  # of its two CPUs
    assert (cpu.throttled_percent, cpu.throttled_seconds, cpu.quota_cpus) == (None, None, None)


def test_a_quota_with_no_runnable_period_is_not_throttled() -> None:
    cpu = derive(
        sample(0, 1, quota=0.5, periods=7, throttled=2), sample(1, 1, quota=0.5, periods=7, throttled=2), 1
    ).cpu
    assert cpu is not None and cpu.throttled_percent == 0.0 and cpu.host_percent == 0.0


def test_one_sample_has_levels_but_no_rates() -> None:
    mem = MemoryCounters(100 * MIB, MemoryStat(inactive_file=30 * MIB), 256 * MIB, 0, None, 0)
    u = derive(None, sample(5, 1, memory=mem, io={(8, 0): IoDevice(1, 2, 3, 4)}), 0.0)
    assert u.interval is None and u.io is None
    assert u.cpu is not None and u.cpu.host_percent is None and u.cpu.limit_percent is None
    assert u.memory is not None and u.memory.working_set_bytes == 70 * MIB
    assert u.pids == PidsCounters(3, 100)
    assert derive(sample(5, 1), sample(5, 1), 0.0).interval is None  # dt 0: no rate either


def test_memory_working_set_and_share_of_the_limit() -> None:
    stat = MemoryStat(anon=90 * MIB, file=40 * MIB, inactive_file=25 * MIB, active_file=15 * MIB)
    mem = MemoryCounters(128 * MIB, stat, 256 * MIB, 2 * MIB, 64 * MIB, 1)
    m = derive(None, sample(0, 0, memory=mem), 0).memory
    assert m is not None
    assert (m.usage_bytes, m.working_set_bytes, m.limit_bytes) == (128 * MIB, 103 * MIB, 256 * MIB)
    assert m.limit_percent == pytest.approx(50.0)
    assert (m.anon_bytes, m.file_bytes, m.swap_bytes, m.oom_kills) == (90 * MIB, 40 * MIB, 2 * MIB, 1)
    # inactive file larger than usage (charged elsewhere first): the working set is never negative
    odd = derive(None, sample(0, 0, memory=replace(mem, usage=10 * MIB)), 0).memory
    assert odd is not None and odd.working_set_bytes == 0


def test_no_memory_limit_is_null() -> None:
    mem = MemoryCounters(MIB, MemoryStat(), None, None, None, None)
    m = derive(None, sample(0, 0, memory=mem), 0).memory
    assert m is not None and (m.limit_bytes, m.limit_percent, m.swap_bytes) == (None, None, None)


def test_io_rates_sum_devices_and_skip_new_ones() -> None:
    prev = sample(0, 0, io={(8, 0): IoDevice(1000, 0, 10, 0), (8, 16): IoDevice(0, 4096, 0, 1)})
    cur = sample(
        2,
        0,
        io={
            (8, 0): IoDevice(5000, 0, 14, 0),
            (8, 16): IoDevice(0, 12288, 0, 3),
            (253, 0): IoDevice(999, 999, 9, 9),  # appeared meanwhile: no rate yet
        },
    )
    io = derive(prev, cur, 2.0).io
    assert io is not None
    assert (io.read_bytes_per_s, io.write_bytes_per_s) == (2000.0, 4096.0)
    assert (io.read_ops_per_s, io.write_ops_per_s) == (2.0, 1.0)


def test_a_counter_that_went_backwards_is_unknown() -> None:
    # the cgroup was removed and made again under the same name between the two samples: no fake 0
    cpu = derive(sample(0, 50.0), sample(1, 0.2), 1.0).cpu
    assert cpu is not None and cpu.host_percent is None and cpu.limit_percent is None
    io = derive(sample(0, 0, io={(8, 0): IoDevice(5000, 0, 9, 0)}), sample(1, 0, io={(8, 0): IoDevice()}), 1)
    assert io.io is None


def test_counters_of_another_directory_tell_no_rate() -> None:
    """Same path, another cgroup (its directory's inode changed): no rate, though the counter grew."""
    prev = replace(sample(0, 1.0, quota=0.5, periods=10, throttled=1), identity=((30, 7),))
    cur = replace(sample(1, 1.5, quota=0.5, periods=20, throttled=2), identity=((30, 8),))
    u = derive(prev, cur, 1.0)
    assert u.interval is None and u.io is None
    assert u.cpu is not None and (u.cpu.host_percent, u.cpu.throttled_percent) == (None, None)
    again = derive(cur, replace(cur, taken_at=2, cpu=CpuCounters(2 * SEC, periods=30)), 1.0).cpu
    assert again is not None and again.host_percent == pytest.approx(50.0)


def test_pressure_is_the_kernels_own_average() -> None:
    psi = {"cpu": Pressure(PressureLine(12.5, 3.0, 1.0, 999), None)}
    u = derive(None, replace(sample(0, 0), pressure=psi), 0)
    assert u.pressure["cpu"].some.avg10 == 12.5 and u.pressure["cpu"].full is None


def _process(pid: int, nspid: int) -> Process:
    return Process(
        pid, 1000, 0.0, 1, "sh", "R", False, 0, "root", nspid, ("sh",), {}, {}
    )  # fmt: skip


def test_process_cpu_and_memory_shares() -> None:
    a, b, c = _process(10, 1), _process(11, 2), _process(12, 3)
    prev = {(10, 1000): ProcessSample(a, 100, MIB, "R", 0.0), (11, 1000): ProcessSample(b, 0, MIB, "S", 0.0)}
    cur = {
        (10, 1000): ProcessSample(a, 300, 64 * MIB, "R", 2.0),  # 200 ticks at 100 Hz in 2 s: one CPU
        (11, 1000): ProcessSample(b, 10, 32 * MIB, "S", 2.0),
        (12, 1000): ProcessSample(c, 50, MIB, "R", 2.0),  # new: no rate
    }
    rows = process_usage(prev, cur, 100, 256 * MIB)
    assert [(r.process.pid, r.cpu_percent) for r in rows] == [(10, 100.0), (11, 5.0), (12, None)]
    assert rows[0].memory_percent == pytest.approx(25.0)
    assert process_usage({}, cur, 100, None)[0].memory_percent is None


def _watched(ident: str) -> Watched:
    c = Container(ident, ident, "bare", 1, (1,), {}, {}, ())
    return Watched(c, CgroupDirs(None, None, None, None, None, None, None), False)


def test_overview_pairs_samples_by_container() -> None:
    old, new = _watched("old"), _watched("new")
    host0, host1, inv = sample(0, 10), sample(1, 11), Inventory((), (), {}, {}, {})
    prev = OverviewSample(host0, {"old": sample(0, 1)}, (old,), inv)
    cur = OverviewSample(host1, {"old": sample(1, 1.5), "new": sample(1, 3)}, (old, new), inv)
    host, rows = derive_overview(prev, cur)
    assert host.cpu is not None and host.cpu.host_percent == pytest.approx(100.0)
    got = {r.watched.container.id: r.usage.cpu.host_percent if r.usage.cpu else None for r in rows}
    assert got == {"old": pytest.approx(50.0), "new": None}
    gone = OverviewSample(host1, {}, (old,), inv)
    assert derive_overview(prev, gone)[1] == []  # its cgroup went away between the samples


def test_memory_allowance_is_the_limit_capped_at_the_hosts_ram() -> None:
    def with_limit(limit: int | None) -> Sample:
        return replace(sample(0, 0), memory=MemoryCounters(MIB, MemoryStat(), limit, None, None, None))

    host = with_limit(8192 * MIB)
    assert memory_allowance(with_limit(256 * MIB), host) == 256 * MIB
    assert memory_allowance(with_limit(None), host) == 8192 * MIB
    assert memory_allowance(with_limit(1 << 40), host) == 8192 * MIB
    assert memory_allowance(sample(0, 0), sample(0, 0)) is None
