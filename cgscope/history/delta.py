"""A recorded frame as the change from the frame before it (format 2): what changed, nothing else.

A patch P of a value O (the earlier frame's) gives the later value:

- O and P both objects: P holds each key whose value changed, with its patch, and "-": [the keys gone];
- O a list and P an object: P holds, by index ("0", "3"), the patches of the elements that changed (the
  list keeps its length); {"=": V} is the list replaced by the object V; {"+": added, "-": gone} is a
  list of positive integers — a pid list written as differences, the pids ascending — with the pids
  `added` come and those `gone` gone (each written as differences too), rather than all its steps again;
- O and P both integers: O + P (a counter's growth is fewer digits than the counter);
- anything else: P is the later value itself.

A frame's container list ("c") is matched by container, not by place: {"o": runs, "p": patches}, where
`runs` says where each container of the later list was in the earlier one ([start, count] for that many
consecutive ones, -1 for one that is new) and `patches` gives each its patch (0: unchanged) or, for a
new one, the container itself. "o" is left out when the containers are those of the frame before, in
the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate
from typing import Any

from cgscope.history.fields import bad, items, obj

SAME = 0  # a container's patch when nothing of it changed
GONE = "-"  # a patch's key listing the keys gone: no key of a frame's objects is "-"
WHOLE = "="  # a list replaced by an object
ADDED = "+"  # a pid list's patch: the pids come ("+") and gone ("-"), each list written as differences
_NONE = object()  # a key not there


def diff(old: Any, new: Any) -> Any:
    """The patch of `old` into `new` (they differ)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = {
            k: diff(old[k], v) if k in old else v for k, v in new.items() if not _same(old.get(k, _NONE), v)
        }
        gone = [k for k in old if k not in new]
        if gone:
            out[GONE] = gone
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new) and new:
        pairs = enumerate(zip(old, new, strict=True))
        changed = {str(i): diff(a, b) for i, (a, b) in pairs if not _same(a, b)}
        return changed if len(changed) < len(new) else new
    if isinstance(old, list) and isinstance(new, list) and _ascending(old) and _ascending(new):
        was, now = set(accumulate(old)), set(accumulate(new))
        return {ADDED: _steps(now - was), GONE: _steps(was - now)}
    if isinstance(old, list) and isinstance(new, dict):
        return {WHOLE: new}
    if _integer(old) and _integer(new):
        return new - old
    return new


def _ascending(steps: list[Any]) -> bool:
    """A list of positive integers: a pid list written as differences (codec.py), read as a set."""
    return bool(steps) and all(type(x) is int and x > 0 for x in steps)


def _steps(values: Iterable[int]) -> list[int]:
    ordered = sorted(values)
    return [b - a for a, b in zip([0, *ordered], ordered, strict=False)]


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def _integer(x: object) -> bool:
    return type(x) is int


def patch(old: Any, p: Any) -> Any:
    """The value `p` makes of `old` (diff's inverse); `old` is left as it was."""
    if isinstance(old, dict) and isinstance(p, dict):
        out = {k: v for k, v in old.items() if k not in p.get(GONE, ())}
        for k, v in p.items():
            if k != GONE:
                out[k] = patch(old[k], v) if k in old else v
        return out
    if isinstance(old, list) and isinstance(p, dict):
        if WHOLE in p:
            return p[WHOLE]
        if ADDED in p:
            kept = set(accumulate(old)) - set(accumulate(items(p.get(GONE), GONE)))
            return _steps(kept | set(accumulate(items(p[ADDED], ADDED))))
        out_list = list(old)
        for k, v in p.items():
            i = int(k)
            out_list[i] = patch(old[i], v)
        return out_list
    if _integer(old) and _integer(p):
        return old + p
    return p


def diff_frame(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The patch of a frame's JSON object into the next's."""
    top = {k: v for k, v in new.items() if k != "c"}
    out: dict[str, Any] = diff({k: v for k, v in old.items() if k != "c"}, top)
    before = {c["i"]: i for i, c in enumerate(old["c"])}
    runs: list[Any] = []
    patches: list[Any] = []
    for c in new["c"]:
        was = before.get(c["i"])
        if was is None:
            runs.append(-1)
            patches.append(c)
            continue
        if runs and isinstance(runs[-1], list) and sum(runs[-1]) == was:
            runs[-1][1] += 1
        else:
            runs.append([was, 1])
        earlier = old["c"][was]
        patches.append(SAME if earlier == c else diff(earlier, c))
    containers: dict[str, Any] = {"p": patches}
    if runs != ([[0, len(old["c"])]] if old["c"] else []):
        containers["o"] = runs
    out["c"] = containers
    return out


def patch_frame(old: Mapping[str, Any], p: Mapping[str, Any]) -> dict[str, Any]:
    """The frame's JSON object a patch of diff_frame makes of the one before; InvalidFormat if it cannot."""
    try:
        top: dict[str, Any] = patch(
            {k: v for k, v in old.items() if k != "c"}, {k: v for k, v in p.items() if k != "c"}
        )
        spec = obj(p.get("c"), "c")
        earlier: Sequence[Any] = old["c"]
        places: list[int | None] = []
        for run in items(spec.get("o", [[0, len(earlier)]] if earlier else []), "c"):
            places += [None] if run == -1 else list(range(run[0], run[0] + run[1]))
        patches = items(spec.get("p"), "c", len(places))
        top["c"] = [
            q if was is None else earlier[was] if q == SAME else patch(earlier[was], q)
            for was, q in zip(places, patches, strict=True)
        ]
    except (KeyError, IndexError, TypeError, ValueError):
        bad("a frame's change that does not fit the frame before it")
    return top
