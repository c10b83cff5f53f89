"""What the collector keeps of a process is read once more in the next round unless the process was
old when first read: the second read is for one caught between fork and exec
(model/collect.SETTLE_SECONDS). Its age is known from its record (recall())."""

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cgscope.fs.files import counting_opens
from cgscope.fs.hostroot import HostRoot
from cgscope.model.collect import SETTLE_SECONDS, Collector


@pytest.fixture
def sleepers() -> Iterator[tuple[int, int]]:
    """(a process older than SETTLE_SECONDS, one just started), ended by pid."""
    old = subprocess.Popen(["sleep", "60"])
    time.sleep(SETTLE_SECONDS + 0.3)
    young = subprocess.Popen(["sleep", "60"])
    try:
        yield old.pid, young.pid
    finally:
        for p in (old, young):
            p.kill()
            p.wait()


def test_an_old_process_is_not_read_again_a_young_one_is(sleepers: tuple[int, int]) -> None:
    old, young = sleepers
    collector = Collector(HostRoot.at(Path("/")))
    collector.pids()
    first = collector.recall([old, young])
    placed = collector.placements([old, young])
    assert set(first) == set(placed) == {old, young}
    collector.pids()  # the next round: where the settling read happens
    with counting_opens() as opens:
        again = collector.recall([old, young])
        assert collector.placements([old, young]) == placed
    read = {path.split("/")[2] for path in [*opens.files, *opens.links]}
    assert read == {str(young)}
    assert again[old] is first[old] and again[young].cmdline == ("sleep", "60")
    collector.pids()
    with counting_opens() as opens:
        collector.recall([old, young])
        collector.placements([old, young])
    assert opens.total() == 0  # both kept for their lives now
