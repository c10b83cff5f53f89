"""Draw docs/dashboard.svg: the dashboard on the tests' fixture host, 100x30, the Docker container
selected. Run from the repository: `python tests/tui/docs_screenshot.py`."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))

from hosts.dashboard import DOCKER_ID, dashboard_host  # noqa: E402

from cgscope.fs.hostroot import HostRoot  # noqa: E402
from cgscope.sampling import Sampler  # noqa: E402
from cgscope.tui.app import CgscopeApp  # noqa: E402
from cgscope.tui.widgets.table import SortableTable  # noqa: E402
from tui.conftest import drawn  # noqa: E402 - after the path is set

OUT = TESTS.parent / "docs" / "dashboard.svg"


async def shoot(root: Path) -> None:
    app = CgscopeApp(Sampler(HostRoot.at(root)), interval=2.0, read_only=False, clock=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await drawn(pilot)
        table = app.screen.query_one(SortableTable)
        table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
        await pilot.pause()
        app.save_screenshot(filename=OUT.name, path=str(OUT.parent))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(shoot(dashboard_host(Path(tmp)).root))
    print(OUT)


if __name__ == "__main__":
    main()
