"""The one way sizes and CPU lists are written."""

import pytest

from cgscope.units import cpulist, size


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0B"),
        (512, "512B"),
        (1023, "1023B"),
        (1024, "1.0K"),
        (1536, "1.5K"),
        (75 * 2**20, "75.0M"),
        (100 * 2**20, "100M"),
        (int(2.3 * 2**30), "2.3G"),
        (2**40, "1.0T"),
        (2**63 - 1, "8.0E"),
    ],
)
def test_size(n: int, text: str) -> None:
    assert size(n) == text


@pytest.mark.parametrize(
    ("cpus", "text"), [((), ""), ((3,), "3"), ((0, 1, 2, 5), "0-2,5"), ((5, 0, 1, 1), "0-1,5")]
)
def test_cpulist(cpus: tuple[int, ...], text: str) -> None:
    assert cpulist(cpus) == text
