"""fs/pressure.KeptPressure: a cgroup's PSI is read again only once its averages may have moved (the
kernel computes them every 2 s); a refresh in between shows the last read, at no file's cost."""

from __future__ import annotations

from pathlib import Path

import pytest

from cgscope.errors import InvalidFormat
from cgscope.fs.files import counting_opens
from cgscope.fs.pressure import KeptPressure

PSI = "some avg10={} avg60=0.00 avg300=0.00 total=10\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"


def _write(directory: Path, avg10: str) -> None:
    for kind in ("cpu", "memory", "io"):
        (directory / f"{kind}.pressure").write_text(PSI.format(avg10))


def test_psi_younger_than_its_period_is_not_read_again(tmp_path: Path) -> None:
    _write(tmp_path, "1.00")
    kept = KeptPressure(3600.0)
    assert kept.read(tmp_path)["memory"].some.avg10 == 1.0
    _write(tmp_path, "7.00")
    with counting_opens() as opens:
        assert kept.read(tmp_path)["memory"].some.avg10 == 1.0
    assert opens.total() == 0


def test_psi_of_its_period_or_older_is_read_again(tmp_path: Path) -> None:
    _write(tmp_path, "1.00")
    kept = KeptPressure(0.0)
    assert kept.read(tmp_path)["io"].some.avg10 == 1.0
    _write(tmp_path, "7.00")
    assert kept.read(tmp_path)["io"].some.avg10 == 7.0


def test_psi_read_again_as_it_was_is_not_parsed_again_a_changed_file_is(tmp_path: Path) -> None:
    _write(tmp_path, "1.00")
    kept = KeptPressure(0.0)
    first = kept.read(tmp_path)
    assert kept.read(tmp_path) is first  # an idle cgroup's: the same text, the same figures
    (tmp_path / "cpu.pressure").write_text(PSI.format("2.00"))
    changed = kept.read(tmp_path)
    assert changed["cpu"].some.avg10 == 2.0 and changed["memory"] == first["memory"]
    (tmp_path / "io.pressure").write_text("some avg10=x\n")
    with pytest.raises(InvalidFormat):
        kept.read(tmp_path)
