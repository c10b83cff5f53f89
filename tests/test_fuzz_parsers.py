"""Random bytes into every kernel-file parser: each either parses or raises InvalidFormat, nothing else.

Each parser gets arbitrary bytes and a well-formed sample of its file with a random splice of bytes in
it (which reaches deeper than noise does), decoded as fs/files.py decodes what it reads. The examples
are derandomized, so every run tries the same ones and CI stays reproducible; raise FUZZ_EXAMPLES to
search further.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgscope.errors import InvalidFormat
from cgscope.fs import cgroup_cpu, cgroup_io, parse, procfs, security, system
from cgscope.fs.files import decode
from cgscope.fs.mounttable import parse_mountinfo
from cgscope.fs.pressure import pressure
from cgscope.fs.status import Status, task_of
from cgscope.fs.users import parse_passwd

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
PATH = "/proc/4242/fuzzed"

STATUS = (
    "Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\nPid:\t42\nPPid:\t1\nUid:\t0\t0\t0\t0\n"
    "Gid:\t0\t0\t0\t0\nNStgid:\t42\t1\nNSpid:\t42\t1\nThreads:\t1\nCapInh:\t0000000000000000\n"
    "CapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n"
    "CapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t2\nSeccomp_filters:\t1\n"
)


def _status_fields(text: str, path: str) -> object:
    s = Status(text, path)
    return s.uids, s.state, s.nspid, security.security_of(s), task_of(s)


# parser -> (parse(text, path), a well-formed sample of its file)
PARSERS: dict[str, tuple[Callable[[str, str], object], str]] = {
    "mountinfo": (
        parse_mountinfo,
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
        "28 22 0:25 /docker/abc /mnt/with\\040space rw - cgroup cgroup rw,memory,clone_children\n",
    ),
    "stat": (
        lambda text, path: procfs.parse_stat(42, text, path),
        "42 ((a) b)) S 1 42 42 0 -1 4194560 120 0 0 0 7 3 0 0 20 0 2 0 98765 12345678 345 1 0 0\n",
    ),
    "status": (_status_fields, STATUS),
    "cmdline": (lambda text, _path: procfs.parse_cmdline(text), "nginx\0-g\0daemon off;\0"),
    "cgroup": (procfs.parse_cgroup, "12:pids:/docker/abc\n1:name=systemd:/docker/abc\n0::/gone (deleted)\n"),
    "ns link": (procfs.parse_ns_link, "net:[4026531840]"),
    "boot time": (procfs.parse_boot_time, "cpu  1 2 3 4\nbtime 1764250000\nprocesses 1\n"),
    "id map": (security.parse_id_map, "         0       1000          1\n         1     100000      65536\n"),
    "cpu.stat v2": (
        cgroup_cpu.parse_cpu_v2,
        "usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\nnr_periods 100\nthrottled_usec 7\n",
    ),
    "flat keyed": (parse.flat_keyed, "anon 62914560\nfile 41943040\noom_kill 1\n"),
    "cpuacct.usage_all": (cgroup_cpu.parse_percpu_v1, "cpu user system\n0 0 0\n1 30000000000 10000000000\n"),
    "v1 quota": (parse.v1_quota, "50000\n"),
    "period": (parse.period, "100000\n"),
    "cpu.max": (parse.cpu_max, "20000 100000\n"),
    "limit": (parse.limit_value, "268435456\n"),
    "single number": (parse.single_integer, "104857600\n"),
    "cpulist": (parse.cpulist, "0-3,8,10-11\n"),
    "io.stat": (cgroup_io.io_stat, "8:0 rbytes=40960 wbytes=3072 rios=10 wios=3 dbytes=1024 dios=1\n"),
    "blkio.throttle": (
        lambda text, path: cgroup_io.blkio_throttle(text, text, (path, path)),
        "8:0 Read 8192\n8:0 Write 4096\n8:0 Total 12288\nTotal 12288\n",
    ),
    "pressure": (
        pressure,
        "some avg10=12.50 avg60=3.00 avg300=1.00 total=98765\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    ),
    "meminfo": (system.parse_meminfo, "MemTotal:        8039412 kB\nHugePages_Total:       0\n"),
    "proc stat": (
        system.parse_cpu_times,
        "cpu  400000 500 96000 3000000\ncpu0 100000 100 24000 750000\nbtime 1\n",
    ),
    "cpuinfo": (system.parse_cpuinfo, "processor\t: 0\nflags\t\t: fpu vme\n\nprocessor\t: 1\n"),
    "uptime": (system.parse_uptime, "10000.50 35000.25\n"),
    "loadavg": (system.parse_loadavg, "0.52 0.58 0.59 3/214 31652\n"),
    "diskstats": (
        system.parse_diskstats,
        "   8       0 sda 91845 22516 5672934 61023 151822 120541 9712568 0 0 1 2\n",
    ),
    "passwd": (lambda text, _path: parse_passwd(text), "root:x:0:0:root:/root:/bin/bash\n"),
}


# What the fuzz feeds a parser: noise, or its sample with the bytes at `at` (wrapped to the sample's
# length) replaced by `splice`; independent of the parser, so one strategy serves every parametrized run.
INPUTS = st.one_of(
    st.binary(max_size=300).map(lambda noise: (None, noise)),
    st.tuples(st.integers(0, 400), st.integers(0, 8), st.binary(max_size=12)),
)


def file_bytes(sample: str, drawn: tuple[object, ...]) -> bytes:
    if drawn[0] is None:
        noise = drawn[1]
        assert isinstance(noise, bytes)
        return noise
    at, size, splice = drawn
    assert isinstance(at, int) and isinstance(size, int) and isinstance(splice, bytes)
    raw = sample.encode()
    at %= len(raw) + 1
    return raw[:at] + splice + raw[at + size :]


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None)
@given(drawn=INPUTS)
def test_random_bytes_parse_or_raise_invalid_format(name: str, drawn: tuple[object, ...]) -> None:
    parse_fn, sample = PARSERS[name]
    try:
        parse_fn(decode(file_bytes(sample, drawn)), PATH)
    except InvalidFormat as exc:
        message = str(exc)
        assert message.startswith(f"{PATH}: ") and "\n" not in message


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_each_sample_parses(name: str) -> None:
    """The fuzz starts from files the parsers accept: a splice is a change to a valid file."""
    parse_fn, sample = PARSERS[name]
    parse_fn(sample, PATH)
