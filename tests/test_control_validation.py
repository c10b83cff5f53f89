"""Bad requests are refused before anything is written: one line on stderr, a non-zero exit, and every
file of the host tree (and the journal) exactly as it was."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from controlfake import control_host, snapshot
from fakehost import FakeHost

from cgscope.cli import main

# Each case: argv after "cgscope --root DIR", and a fragment the one-line message must hold.
HYBRID_CASES = [
    # targets
    (["limit", "99999", "--cpu", "20%"], "no such process"),
    (["limit", "2", "--cpu", "20%"], "kernel thread"),
    (["limit", "1", "--cpu", "20%"], "host's init"),
    (["limit", "no-such-box", "--cpu", "20%"], "no container named"),
    (["limit", "-5", "--cpu", "20%"], "no container named"),
    # CPU
    (["limit", "100", "--cpu", "0"], "more than zero"),
    (["limit", "100", "--cpu", "0%"], "more than zero"),
    (["limit", "100", "--cpu=-1"], "more than zero"),
    (["limit", "100", "--cpu", "abc"], "percentage of one CPU"),
    (["limit", "100", "--cpu", "20%%"], "percentage of one CPU"),
    (["limit", "100", "--cpu", "nan"], "percentage of one CPU"),
    (["limit", "100", "--cpu", "inf"], "percentage of one CPU"),
    (["limit", "100", "--cpu", "1e3"], "percentage of one CPU"),
    (["limit", "100", "--cpu", "3"], "more than the 2 CPU(s) this host has"),
    (["limit", "100", "--cpu", "250%"], "more than the 2 CPU(s)"),
    (["limit", "100", "--cpu", "0.5%"], "1 ms minimum"),
    (["limit", "100", "--cpu", "1%", "--cpu-period", "50000"], "1 ms minimum"),
    (["limit", "100", "--cpu-period", "999"], "from 1000 to 1000000"),
    (["limit", "100", "--cpu-period", "2000000"], "from 1000 to 1000000"),
    (["limit", "100", "--cpu-weight", "0"], "from 1 to 10000"),
    (["limit", "100", "--cpu-weight", "10001"], "from 1 to 10000"),
    (["limit", "400", "--cpu", "1"], "more than the 0.5 CPU(s) its parent /box allows"),
    # memory
    (["limit", "100", "--memory", "0"], "more than zero"),
    (["limit", "100", "--memory=-5M"], "more than zero"),
    (["limit", "100", "--memory", "12Q"], "give a size"),
    (["limit", "100", "--memory", "M"], "give a size"),
    (["limit", "100", "--memory", "1.5.5G"], "give a size"),
    (["limit", "100", "--memory", "99999999E"], "more than the kernel can count"),
    (["limit", "100", "--memory", "256M", "--memory-swap", "128M"], "below --memory"),
    (["limit", "100", "--memory", "1M"], "below the 1.6M process 100 (sh) uses now"),
    # pids
    (["limit", "100", "--pids", "0"], "from 1 to"),
    (["limit", "100", "--pids", "-3"], "whole number"),
    (["limit", "100", "--pids", "ten"], "whole number"),
    (["limit", "100", "--pids", "5000000"], "from 1 to 4194304"),
    # cpuset
    (["limit", "100", "--cpuset", "5"], "CPU 5 does not exist"),
    (["limit", "100", "--cpuset", "1-0"], "as the kernel lists them"),
    (["limit", "100", "--cpuset", "a"], "as the kernel lists them"),
    (["limit", "100", "--cpuset", ""], "as the kernel lists them"),
    (["limit", "400", "--cpuset", "1"], "outside the CPUs 0 its parent /box allows"),
    # io
    (["limit", "100", "--io-max", "9:9:rbps=1M"], "no block device 9:9"),
    (["limit", "100", "--io-max", "8:1:rbps=1M"], "is a partition"),
    (["limit", "100", "--io-max", "8:0:xbps=1"], "is not one of"),
    (["limit", "100", "--io-max", "8:0"], "MAJ:MIN:"),
    (["limit", "100", "--io-max", "8:0:rbps=0"], "more than zero"),
    (["limit", "100", "--io-max", "8:0:rbps=1M,rbps=2M"], "given twice"),
    (["limit", "100", "--io-max", "8:0:rbps=1M", "--io-max", "8:0:wbps=1M"], "given twice"),
    (["limit", "100", "--io-weight", "0"], "from 1 to 10000"),
    (["limit", "100", "--io-weight", "5000"], "blkio.bfq.weight takes 1 to 1000"),
    # cgroup names
    (["limit", "100", "--cpu", "20%", "--into", "../escape"], "'..'"),
    (["limit", "100", "--cpu", "20%", "--into", "/a/../../etc"], "'..'"),
    (["limit", "100", "--cpu", "20%", "--into", "a/b"], "give one name"),
    (["limit", "100", "--cpu", "20%", "--into", "/x//y"], "empty"),
    (["limit", "100", "--cpu", "20%", "--into", "bad\nname"], "newline"),
    (["limit", "100", "--cpu", "20%", "--into", "x" * 256], "at most 255 bytes"),
    (["limit", "100", "--cpu", "20%", "--into", "/linked"], "is a symlink"),
    (["limit", "100", "--cpu", "20%", "--into", "/linked/deeper"], "is a symlink"),
    (["limit", "100", "--cpu", "20%", "--into", "/cgroup.procs"], "is a file, not a cgroup"),
    # what to do
    (["limit", "100"], "nothing to change"),
    (["limit", "100", "--clear", "--cpu", "20%"], "--clear removes every limit"),
    (["limit", "100", "--clear"], "no limit to remove"),
    (["limit", "100", "--memory", "max", "--into", "mine"], "--into makes a cgroup"),
    (["limit", "300", "--cpu", "20%", "--into", "/system.slice/app.service"], "also changes 1 process"),
    # numbers: ASCII digits only, nothing around a value
    (["limit", "100", "--cpu", "\u0662\u0660%"], "percentage of one CPU"),
    (["limit", "100", "--cpu", "²"], "percentage of one CPU"),
    (["limit", "100", "--memory", "\u0666\u0664M"], "give a size"),
    (["limit", "100", "--memory", "²M"], "give a size"),
    (["limit", "100", "--pids", "\u0661\u0660"], "whole number"),
    (["limit", "100", "--pids", "²"], "whole number"),
    (["limit", "100", "--pids", "9" * 5000], "must be from 1 to 4194304"),
    (["limit", "100", "--cpu-weight", "\u0665\u0660"], "whole number"),
    (["limit", "100", "--cpuset", "\u0660"], "as the kernel lists them"),
    (["limit", "100", "--cpuset", "²"], "as the kernel lists them"),
    (["limit", "100", "--cpuset", "0-99999999999"], "CPU 99999999999 is beyond what any kernel numbers"),
    (["limit", "100", "--io-max", "\u0668:0:rbps=1M"], "MAJ:MIN:"),
    (["limit", "100", "--io-max", "8:0:riops=\u0663"], "whole number"),
    (["limit", "100", "--cpu", " 20%"], "without spaces or newlines"),
    (["limit", "100", "--memory", "256M\n"], "without spaces or newlines"),
    (["limit", "100", "--pids", "10 "], "without spaces or newlines"),
    (["limit", "100", "--cpuset", "0\n"], "without spaces or newlines"),
    (["limit", "100", "--cpu", "20%", "--into", "//x"], "empty"),
    (["limit", "100", "--cpu", "20%", "--into", "/x/"], "empty"),
    (["limit", "\u0661\u0660\u0660", "--cpu", "20%"], "no container named"),
    (["undo", "\u0661"], "1 or more"),
    (["undo", "²"], "1 or more"),
    (["undo", "--last", "\u0662"], "1 or more"),
    (["undo", "1e400"], "1 or more"),
    # kill
    (["kill", "100"], "cannot run with --root"),
    (["kill", "100", "-s", "USR1"], "cgscope sends TERM (15), KILL (9)"),
    (["kill", "100", "-s", "\u0661\u0665"], "give one by name or number"),
    # move
    (["move", "100", "relative/path"], "absolute cgroup path"),
    (["move", "100", "//x", "--create"], "empty"),
    (["move", "\u0661\u0660\u0660", "/x", "--create"], "is not a pid"),
    (["move", "100", "/a/../b"], "'..'"),
    (["move", "100", "/nonexistent"], "add --create"),
    (["move", "99999", "/x", "--create"], "no such process"),
    (["move", "abc", "/x", "--create"], "is not a pid"),
    (["move", "100", "/x", "--create", "--controller", "nosuch"], "no such hierarchy or controller"),
    (["move", "100", "/linked", "--create"], "is a symlink"),
    (["move", "2", "/x", "--create"], "kernel thread"),
    # freeze
    (["freeze", "100"], "not in a container"),
    (["thaw", "no-such-box"], "no container named"),
    # undo, nsenter
    (["undo"], "nothing to undo"),
    (["undo", "0"], "1 or more"),
    (["undo", "x"], "1 or more"),
    (["nsenter", "100", "--", "true"], "cannot run with --root"),
]

V2_CASES = [
    (["limit", "300", "--cpu", "20%"], "no-internal-process rule"),
    (["limit", "501", "--cpu", "20%"], "must be enabled in unified:/busy, which holds processes"),
    (["limit", "100", "--memory-swap", "1G"], "give --memory too"),
    (["move", "100", "/system.slice"], "passes cpuset, cpu, io, memory, pids to its children"),
    (["move", "100", "/threads/invalid"], "domain invalid"),
    (["limit", "100", "--cpu", "20%", "--into", "/system.slice"], "passes cpuset, cpu, io, memory, pids"),
]


@pytest.fixture(autouse=True)
def journal_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "state"
    monkeypatch.setenv("CGSCOPE_STATE", str(state))
    return state


def hybrid(tmp_path: Path) -> FakeHost:
    host = control_host(tmp_path, "hybrid")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, host.path("/sys/fs/cgroup/cpu/linked"))
    for key in ("memory", "name=systemd", "unified"):  # `move` walks every hierarchy
        os.symlink(outside, host.path(host.hierarchy(key).mountpoint) / "linked")
    return host


def v2(tmp_path: Path) -> FakeHost:
    host = control_host(tmp_path, "v2")
    host.add_process(500, "busy", cgroup="/busy")
    host.add_process(501, "leaf", cgroup="/busy/leaf")
    host.add_cgroup("/threads/invalid")
    from controlfake import add_interface_files

    add_interface_files(host)
    (host.path("/sys/fs/cgroup/threads/invalid/cgroup.type")).write_text("domain invalid\n")
    return host


def refuse(host: FakeHost, argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    journal = Path(os.environ["CGSCOPE_STATE"])
    before = snapshot(host.root)
    out = io.StringIO()
    status = main(["--root", str(host.root), *argv], out=out)
    err = capsys.readouterr().err
    assert status != 0, (argv, out.getvalue())
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cgscope: "), (argv, err)
    assert fragment in lines[0], (argv, lines[0])
    assert snapshot(host.root) == before, argv
    assert not (journal / "journal.jsonl").exists() or "undo" in argv, argv


@pytest.mark.parametrize(("argv", "fragment"), HYBRID_CASES, ids=[" ".join(a)[:80] for a, _ in HYBRID_CASES])
def test_refused_on_v1(
    tmp_path: Path, argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    refuse(hybrid(tmp_path), argv, fragment, capsys)


@pytest.mark.parametrize(("argv", "fragment"), V2_CASES, ids=[" ".join(a) for a, _ in V2_CASES])
def test_refused_on_v2(
    tmp_path: Path, argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    refuse(v2(tmp_path), argv, fragment, capsys)


def test_corpus_is_large() -> None:
    assert len(HYBRID_CASES) + len(V2_CASES) >= 40


def test_valid_requests_pass_the_same_checks(tmp_path: Path) -> None:
    """The corpus refuses for the reasons given, not because everything is refused: the neighbours of
    its cases plan (dry run) fine."""
    host = hybrid(tmp_path)
    for argv in (
        ["limit", "100", "--cpu", "20%"],
        ["limit", "100", "--cpu", "2"],
        ["limit", "100", "--cpu", "1%"],
        ["limit", "400", "--cpu", "0.5"],
        ["limit", "400", "--cpuset", "0"],
        ["limit", "100", "--memory", "256M", "--memory-swap", "512M"],
        ["limit", "100", "--io-max", "8:0:rbps=1M,wiops=max", "--io-weight", "1000"],
        ["limit", "100", "--cpu", "20%", "--into", "/mine"],
        ["move", "100", "/x", "--create", "--controller", "cpu"],
    ):
        assert main(["--root", str(host.root), *argv, "--dry-run"], out=io.StringIO()) == 0, argv
