"""Malformed kernel files: every parser raises InvalidFormat naming the file, whether the file is truncated,
garbage, missing a key or holds a huge value; and one-shot commands end with that one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fakehost import FakeHost
from hosts.counters import hybrid_host, v2_host

from cgscope.cli import main
from cgscope.errors import InvalidFormat
from cgscope.fs import cgroup_cpu, cgroup_io, cgspec, parse, procfs, security, system
from cgscope.fs.cgroupfs import read_members
from cgscope.fs.files import decode
from cgscope.fs.mounttable import parse_mountinfo
from cgscope.fs.overlay import aufs_branches
from cgscope.fs.pressure import pressure
from cgscope.fs.status import Status, task_of
from cgscope.fs.users import parse_passwd

PATH = "/proc/4242/file"
HUGE = "9" * 30
STAT_TAIL = " S 1 42 42 0 -1 4194560 120 0 0 0 7 3 0 0 20 0 1 0 98765 12345678 345 18446744073709551615 0\n"
STATUS = "Name:\tsh\nState:\tS (sleeping)\nUid:\t0\t0\t0\t0\nNSpid:\t42\t1\nCapEff:\t0000000000000000\n"
PSI_SOME = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0"


def _status(accessor: Callable[[Status], object]) -> Callable[[str, str], object]:
    return lambda text, path: accessor(Status(text, path))


# parser name -> (parse(text, path), {case: text}); each case's text is malformed.
PARSERS: dict[str, tuple[Callable[[str, str], object], dict[str, str]]] = {
    "mountinfo": (
        parse_mountinfo,
        {
            "truncated": "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3\n",
            "garbage": decode(b"\x8f\xa0\xff random \x00 bytes\n"),
            "no separator": "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw\n",
            "huge id": f"{HUGE} 35 98:0 / / rw - ext4 /dev/sda1 rw\n",
            "unicode digit": "\u06636 35 98:0 / / rw - ext4 /dev/sda1 rw\n",
            "no device number": "36 35 98 / / rw - ext4 /dev/sda1 rw\n",
        },
    ),
    "stat": (
        lambda text, path: procfs.parse_stat(42, text, path),
        {
            "no parentheses": "42 sh" + STAT_TAIL,
            "truncated": "42 (sh) S 1 42\n",
            "garbage field": "42 (sh)" + STAT_TAIL.replace(" 7 3 ", " x 3 "),
            "huge start time": "42 (sh)" + STAT_TAIL.replace(" 98765 ", f" {HUGE} "),
            "empty": "",
        },
    ),
    "status uid": (
        _status(lambda s: s.uid),
        {
            "garbage": STATUS.replace("Uid:\t0\t0\t0\t0", "Uid:\tabc\t0\t0\t0"),
            "missing": "Name:\tsh\nState:\tS (sleeping)\n",
            "truncated": STATUS.replace("Uid:\t0\t0\t0\t0", "Uid:\t0\t0"),
            "unicode digit": STATUS.replace("Uid:\t0", "Uid:\t\u0661"),
            "superscript": STATUS.replace("Uid:\t0", "Uid:\t\u00b2"),
            "huge": STATUS.replace("Uid:\t0", f"Uid:\t{HUGE}"),
        },
    ),
    "status nspid": (
        _status(lambda s: s.nspid),
        {
            "garbage": STATUS.replace("NSpid:\t42\t1", "NSpid:\t42\tx"),
            "huge": STATUS.replace("NSpid:\t42", f"NSpid:\t{HUGE}"),
        },
    ),
    "status capabilities": (
        _status(lambda s: s.cap("Eff")),
        {
            "garbage": STATUS.replace("CapEff:\t0000000000000000", "CapEff:\tzz"),
            "missing": STATUS.replace("CapEff:\t0000000000000000\n", ""),
            "huge": STATUS.replace("CapEff:\t0000000000000000", "CapEff:\t" + "f" * 17),
        },
    ),
    "status state": (
        _status(lambda s: s.state),
        {
            "garbage": STATUS.replace("State:\tS (sleeping)", "State:\tsleeping"),
            "missing": "Uid:\t0\t0\t0\t0\n",
        },
    ),
    "task status": (_status(task_of), {"garbage": "State:\tR (running)\nNSpid:\t1\t\u0662\n"}),
    "security": (
        _status(security.security_of),
        {"seccomp": STATUS + "".join(f"Cap{c}:\t0\n" for c in ("Prm", "Bnd")) + "Seccomp:\tfilter\n"},
    ),
    "cgroup": (
        procfs.parse_cgroup,
        {
            "garbage": "garbage\n",
            "truncated": "0:/docker\n",
            "no hierarchy id": "x::/docker\n",
            "huge hierarchy id": f"{HUGE}::/\n",
            "relative path": "0::docker\n",
        },
    ),
    "ns link": (
        procfs.parse_ns_link,
        {
            "letters": "pid:[abc]",
            "empty": "pid:[]",
            "truncated": "pid:[4026531836",
            "huge": f"pid:[{HUGE}]",
            "unicode digit": "pid:[\u0664026531836]",
        },
    ),
    "boot time": (
        procfs.parse_boot_time,
        {"missing": "cpu  1 2 3 4\nintr 0\n", "garbage": "btime soon\n", "huge": f"btime {HUGE}\n"},
    ),
    "id map": (
        security.parse_id_map,
        {"truncated": "0 0\n", "garbage": "0 0 lots\n", "huge": f"0 0 {HUGE}\n"},
    ),
    "cpu.stat v2": (
        cgroup_cpu.parse_cpu_v2,
        {
            "unicode digit": "usage_usec \u0662\nuser_usec 0\nsystem_usec 0\n",
            "missing": "usage_usec 1\n",
            "garbage": "garbage\n",
            "huge": f"usage_usec {HUGE}\nuser_usec 0\nsystem_usec 0\n",
            "float": "usage_usec 1.5\nuser_usec 0\nsystem_usec 0\n",
        },
    ),
    "memory.stat": (
        parse.flat_keyed,
        {
            "unicode digit": "anon \u0662\n",
            "garbage": "foo\n",
            "underscored": "anon 1_000\n",
            "huge": f"anon {HUGE}\n",
            "blank line": "anon 1\n\nfile 2\n",
        },
    ),
    "cpuacct.usage_all": (
        cgroup_cpu.parse_percpu_v1,
        {
            "no header": "0 1 2\n",
            "truncated": "cpu user system\n0 1\n",
            "garbage": "cpu user system\n0 one two\n",
            "empty": "",
        },
    ),
    "cpu.cfs_quota_us v1": (
        parse.v1_quota,
        {"empty": "", "max": "max\n", "garbage": "lots\n", "zero": "0\n", "huge": f"{HUGE}\n"},
    ),
    "cpu.cfs_period_us": (parse.period, {"zero": "0\n", "empty": "", "negative": "-100000\n"}),
    "cpu.max": (
        parse.cpu_max,
        {
            "truncated": "max\n",
            "zero period": "max 0\n",
            "garbage": "lots 100000\n",
            "huge": f"{HUGE} 100000\n",
            "zero quota": "0 100000\n",
        },
    ),
    "limit": (parse.limit_value, {"empty": "", "negative": "-5\n", "garbage": "maxx\n", "huge": f"{HUGE}\n"}),
    "single number": (parse.single_integer, {"empty": "", "unicode digit": "\u0661\u0662\n", "two": "1 2\n"}),
    "cpulist": (
        parse.cpulist,
        {
            "truncated": "0-\n",
            "reversed": "3-1\n",
            "huge range": "0-99999999999\n",
            "garbage": "all\n",
            "unicode digit": "\u0660-3\n",
        },
    ),
    "io.stat": (
        cgroup_io.io_stat,
        {
            "garbage value": "8:0 rbytes=x wbytes=0\n",
            "no minor": "8 rbytes=1\n",
            "no value": "8:0 rbytes\n",
            "huge": f"8:0 rbytes={HUGE}\n",
        },
    ),
    "blkio.throttle": (
        lambda text, path: cgroup_io.blkio_throttle(text, "", (path, path)),
        {"truncated": "8:0 Read\n", "garbage": "8:0 Read lots\n", "huge": f"8:0 Read {HUGE}\n"},
    ),
    "pressure": (
        pressure,
        {
            "truncated": "some avg10=1.00\n",
            "unknown kind": PSI_SOME.replace("some", "most") + "\n",
            "missing some": PSI_SOME.replace("some", "full") + "\n",
            "garbage": PSI_SOME.replace("avg10=0.00", "avg10=1e5") + "\n",
            "huge": PSI_SOME.replace("total=0", f"total={HUGE}") + "\n",
        },
    ),
    "meminfo": (
        system.parse_meminfo,
        {
            "truncated": "MemTotal:\n",
            "garbage": "garbage\n",
            "unit": "MemTotal: 12 MB\n",
            "huge": f"MemTotal: {HUGE} kB\n",
        },
    ),
    "proc stat cpus": (
        system.parse_cpu_times,
        {
            "garbage": "cpu  1 2 x 4\n",
            "missing": "intr 1\n",
            "bad cpu number": "cpu  1 2 3 4\ncpux 1 2 3 4\n",
            "truncated": "cpu  1 2\n",
            "huge": f"cpu  1 2 3 {HUGE}\n",
        },
    ),
    "uptime": (system.parse_uptime, {"empty": "", "truncated": "12.5\n", "garbage": "12,5 3.0\n"}),
    "loadavg": (
        system.parse_loadavg,
        {
            "truncated": "0.10 0.20 0.30\n",
            "garbage": "0.10 0.20 0.30 1-2 5\n",
            "huge": f"0.1 0.2 0.3 1/{HUGE} 5\n",
        },
    ),
    "diskstats": (
        system.parse_diskstats,
        {
            "truncated": "8 0 sda 1 2\n",
            "garbage": "8 0 sda" + " x" * 11 + "\n",
            "huge": f"8 {HUGE} sda" + " 0" * 11,
        },
    ),
}
CASES = [(name, case) for name, (_, cases) in PARSERS.items() for case in cases]


def assert_names_file(call: Callable[[], object], path: object) -> str:
    """The call raises InvalidFormat whose message is one line starting with the file's path."""
    with pytest.raises(InvalidFormat) as info:
        call()
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    assert info.value.path == str(path)
    return message


@pytest.mark.parametrize(("parser", "case"), CASES, ids=[f"{p}: {c}" for p, c in CASES])
def test_malformed_input_names_the_file(parser: str, case: str) -> None:
    parse_fn, cases = PARSERS[parser]
    assert_names_file(lambda: parse_fn(cases[case], PATH), PATH)


def test_message_quotes_the_offending_line() -> None:
    message = assert_names_file(
        lambda: parse.flat_keyed("anon 1\nfoo\n", "/sys/fs/cgroup/x/memory.stat"),
        "/sys/fs/cgroup/x/memory.stat",
    )
    assert message == "/sys/fs/cgroup/x/memory.stat: unexpected line 'foo'"
    message = assert_names_file(lambda: parse.flat_keyed(f"anon {'7' * 500}\n", PATH), PATH)
    assert len(message) < 150  # a huge value is quoted clipped
    message = assert_names_file(lambda: parse.flat_keyed("anon \x1b]0;owned\x07\n", PATH), PATH)
    assert "\x1b" not in message  # quoted as an escape, never sent to the terminal


def test_only_ascii_digits_are_digits() -> None:
    for word in ("\u0662", "\u00b2", "\u0661\u0660", "+1", " 1", "1 ", "1_0", "0x10", ""):
        with pytest.raises(InvalidFormat):
            parse.integer(word, PATH)
    assert parse.integer("-1", PATH) == -1 and parse.integer("18446744073709551615", PATH) == (1 << 64) - 1
    assert parse.cpulist("0-3,8\n", PATH) == (0, 1, 2, 3, 8) and parse.cpulist("\n", PATH) == ()


def test_cgroup_membership_files(tmp_path: Path) -> None:
    (tmp_path / "cgroup.procs").write_text("12\nabc\n")
    assert_names_file(lambda: read_members(tmp_path), tmp_path / "cgroup.procs")
    (tmp_path / "cgroup.procs").write_text(f"{HUGE}\n")
    assert_names_file(lambda: read_members(tmp_path), tmp_path / "cgroup.procs")


def test_aufs_branch_without_permission(tmp_path: Path) -> None:
    (tmp_path / "si_1").mkdir()
    (tmp_path / "si_1" / "br0").write_text("/var/lib/docker/aufs/diff/x\n")
    assert_names_file(lambda: aufs_branches(tmp_path, "1"), tmp_path / "si_1" / "br0")


def test_passwd_lines_that_are_no_entry_are_skipped() -> None:
    # Not a kernel file: getpwent(3) skips what it cannot read, and so does cgscope.
    text = "garbage\nroot:x:0:0:root:/root:/bin/bash\nbob:x:\u0661:1::/:/bin/sh\nshort:x:7\n" + decode(
        b"\xff:x:9:9::/:/bin/sh\n"
    )
    entries = parse_passwd(text)
    assert [(e.name, e.uid, e.shell) for e in entries] == [("root", 0, "/bin/bash"), ("\udcff", 9, "/bin/sh")]


# -- one-shot commands end with the one line ---------------------------------------------------------


def fails_naming(h: FakeHost, capsys: pytest.CaptureFixture[str], path: str, *args: str) -> str:
    """`cgscope --root H ARGS` exits 1 with one line on stderr that names `path` (a host path)."""
    capsys.readouterr()
    assert main(["--root", str(h.root), *args]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith(f"cgscope: {h.path(path)}: "), line
    return line


def test_mountinfo_of_random_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    h = FakeHost(tmp_path, "v2")
    h.write("/proc/self/mountinfo", b"\x8f\x00\xa0\xffrandom\x1b[2Jbytes\n\xfe\n")
    line = fails_naming(h, capsys, "/proc/self/mountinfo", "containers")
    assert "\x1b" not in line


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("stat", "4242 (nginx) ", "4242 nginx "),
        ("status", "Uid:\t0\t0\t0\t0", "Uid:\tabc\t0\t0\t0"),
        ("status", "NSpid:\t4242\t1", "NSpid:\t4242\tone"),
        ("cgroup", "0::/", "garbage\n0::/"),
    ],
    ids=[
        "stat without parentheses",
        "status with a garbage Uid",
        "status with a garbage NSpid",
        "cgroup line",
    ],
)
def test_process_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], file: str, old: str, new: str
) -> None:
    h = v2_host(tmp_path)
    path = h.path(f"/proc/4242/{file}")
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    for command in ("ps", "containers"):
        fails_naming(h, capsys, f"/proc/4242/{file}", command)


def test_ns_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    h = v2_host(tmp_path)
    link = h.path("/proc/4242/ns/pid")
    link.unlink()
    link.symlink_to("pid:[abc]")
    assert "not a namespace link: 'pid:[abc]'" in fails_naming(h, capsys, "/proc/4242/ns/pid", "ns")


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("cpu.stat", "usage_usec 5000000", "usage_usec \u0665000000"),
        ("memory.stat", "anon 62914560", "anon \u06662914560"),
    ],
)
def test_v2_counters_with_a_unicode_digit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], file: str, old: str, new: str
) -> None:
    from hosts.counters import V2_CG

    h = v2_host(tmp_path)
    directory = h.cgroup_dir("unified", V2_CG)
    assert directory is not None
    (directory / file).write_text((directory / file).read_text().replace(old, new))
    fails_naming(h, capsys, f"/sys/fs/cgroup{V2_CG}/{file}", "top", "--json", "-d", "0.1")


@pytest.mark.parametrize("quota", ["", "max\n"], ids=["empty", "max"])
def test_v1_quota(tmp_path: Path, capsys: pytest.CaptureFixture[str], quota: str) -> None:
    from hosts.counters import V1_CG

    h = hybrid_host(tmp_path)
    directory = h.cgroup_dir("cpu", V1_CG)
    assert directory is not None
    (directory / "cpu.cfs_quota_us").write_text(quota)
    fails_naming(h, capsys, f"/sys/fs/cgroup/cpu{V1_CG}/cpu.cfs_quota_us", "top", "--json", "-d", "0.1")


def test_the_three_failures_are_told_apart(tmp_path: Path) -> None:
    """A caller tells a malformed file from a gone process and from a denied read, by type."""
    from cgscope.errors import AccessDenied, CgscopeError, ProcessGone
    from cgscope.fs.status import read_status

    assert not issubclass(InvalidFormat, ProcessGone | AccessDenied) and issubclass(
        InvalidFormat, CgscopeError
    )
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "status").write_text("Uid:\tx\n")
    with pytest.raises(InvalidFormat):
        _ = read_status(tmp_path, 1).uid
    with pytest.raises(ProcessGone):
        read_status(tmp_path, 2)


def test_cpuinfo_processor_numbers() -> None:
    head, blocks = system.parse_cpuinfo("processor\t: 0\nflags\t\t: fpu\n\nprocessor\t: 1\n", PATH)
    assert (head, sorted(blocks)) == ([], [0, 1])
    for number in ("\u0661", "one", HUGE):
        text = f"processor\t: {number}\n"
        assert_names_file(lambda: system.parse_cpuinfo(text, PATH), PATH)  # noqa: B023 - called at once


@pytest.mark.parametrize("file", ["meminfo", "cpuinfo", "stat", "uptime", "diskstats"])
def test_procview_host_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], file: str) -> None:
    """The files the view rewrites are parsed when read: the read fails, not the rendering."""
    h = v2_host(tmp_path)
    h.write(f"/proc/{file}", "processor\t: x\n" if file == "cpuinfo" else "garbage\n")
    fails_naming(h, capsys, f"/proc/{file}", "procview", "web", "loadavg")


def test_mountinfo_super_options_with_a_space_are_the_rest_of_the_line() -> None:
    [m] = parse_mountinfo("36 35 0:50 / /mnt rw - fuse.x me@host rw,user_id=0,note=a b\n", PATH)
    assert (m.fstype, m.source, m.super_options) == ("fuse.x", "me@host", ("rw", "user_id=0", "note=a b"))


@pytest.mark.parametrize(
    ("files", "read", "bad"),
    [
        ({"cpuacct.stat": "user 12\n"}, cgspec.read_cpuacct_stat, "cpuacct.stat"),
        ({"memory.failcnt": "\u0661\n"}, cgspec.read_failcnt, "memory.failcnt"),
        ({"memory.events": "oom_kill x\n"}, cgspec.read_memory_events, "memory.events"),
        (
            {"cpu.max": "max 100000\n", "cpu.weight": "heavy\n"},
            lambda d: cgspec.read_cpu_spec(d, 2),
            "cpu.weight",
        ),
        (
            {"cpu.cfs_period_us": "100000\n", "cpu.cfs_quota_us": "max\n"},
            lambda d: cgspec.read_cpu_spec(d, 1),
            "cpu.cfs_quota_us",
        ),
    ],
    ids=["cpuacct.stat missing system", "failcnt", "memory.events", "cpu.weight", "v1 quota max"],
)
def test_cgroup_spec_files(
    tmp_path: Path, files: dict[str, str], read: Callable[[Path], object], bad: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert_names_file(lambda: read(tmp_path), tmp_path / bad)
