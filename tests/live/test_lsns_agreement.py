"""On the live host, `cgscope ns` counts agree with util-linux lsns for every namespace both can read."""

import json
import shutil
import subprocess
import sys

import pytest

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(shutil.which("lsns") is None, reason="needs util-linux lsns"),
]


def lsns_counts() -> dict[tuple[int, str], int]:
    out = subprocess.run(
        ["lsns", "--json", "-o", "NS,TYPE,NPROCS"], capture_output=True, text=True, check=True
    )
    return {(n["ns"], n["type"]): n["nprocs"] for n in json.loads(out.stdout)["namespaces"]}


def cgscope_counts() -> dict[tuple[int, str], int]:
    # A process of its own, as lsns is: each counts itself in the host's namespaces.
    out = subprocess.run(
        [sys.executable, "-m", "cgscope", "ns", "--json"], capture_output=True, text=True, check=True
    )
    return {(n["ns"], n["type"]): n["nprocs"] for n in json.loads(out.stdout)["namespaces"]}


def test_counts_agree_with_lsns() -> None:
    # Processes come and go between the runs: retry until the two lsns runs around ours agree.
    for _ in range(10):
        before, ours, after = lsns_counts(), cgscope_counts(), lsns_counts()
        if before == after:
            break
    else:
        pytest.skip("the process table kept changing during the comparison")
    both = ours.keys() & before.keys()
    assert len(both) >= 8, "at least the host's 8 namespaces are listed by both"
    assert {k: ours[k] for k in both} == {k: before[k] for k in both}
    # lsns lists a namespace we miss only if no readable process is in it.
    assert not (before.keys() - ours.keys() - {k for k, n in before.items() if n == 0})
