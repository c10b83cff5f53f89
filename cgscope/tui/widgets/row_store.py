"""A table's items and their rows across refreshes: a row's cells are read again only when its item
changed, so a refresh where N items changed costs N rows of cells (and a comparison per item), not
rows by columns. A column's cell depends on its item alone (render/columns): an equal item has equal
cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from cgscope.render.columns import Column
from cgscope.tui.widgets.rows import Row, width

T = TypeVar("T")
MAX_WIDTH = 512  # cells: a longer value (a command line) is cut


@dataclass
class Counters:
    """What a table did since it was made, so a test or a probe sees what a refresh cost."""

    read: int = 0  # rows whose cells were read from their item: new, or their item changed
    laid_out: int = 0  # rows laid out as one Text (their cells changed, and they were on screen)
    drawn: int = 0  # lines drawn again (not taken from the last drawing)


class RowStore(Generic[T]):
    def __init__(self, specs: Sequence[Column[T]], counters: Counters) -> None:
        self.specs = list(specs)
        self.counters = counters
        self.items: dict[str, T] = {}
        self.rows: list[Row] = []

    def update(self, items: Sequence[tuple[str, T]]) -> tuple[list[str], bool]:
        """Take the new (key, item) pairs, keys unique: the keys whose cells changed, and whether the
        keys are those of last time."""
        old_items, old_rows = self.items, {r.key: r for r in self.rows}
        rows: list[Row] = []
        changed: list[str] = []
        for key, item in items:
            before = old_rows.get(key)
            if before is not None:
                prior = old_items[key]
                if prior is item or prior == item:
                    rows.append(before)
                    continue
            row = Row(key, tuple(spec.cell(item) for spec in self.specs))
            self.counters.read += 1
            if before is None or before.cells != row.cells:
                changed.append(key)
            rows.append(row)
        self.items, self.rows = dict(items), rows
        return changed, old_items.keys() == self.items.keys()

    def widths(self, changed: Sequence[str], same_rows: bool, before: Sequence[int]) -> list[int]:
        """Each column's width for every row, not only those a filter shows: columns stay put while one
        types. They grow at once and shrink only when rows come or go, so a changing figure rarely moves
        them (and while the same rows stay, only the changed rows are measured)."""
        fresh = set(changed)
        measured = [r for r in self.rows if r.key in fresh] if same_rows else self.rows
        widths = [
            min(MAX_WIDTH, max([len(spec.header) + 1, *(width(r.cells[i], spec) for r in measured)]))
            for i, spec in enumerate(self.specs)
        ]
        return [max(a, b) for a, b in zip(widths, before, strict=True)] if same_rows else widths
