"""Typed reads of a recorded frame's JSON: a value of the wrong type or shape is one InvalidFormat line
naming its key, never a KeyError or TypeError further on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from cgscope.errors import InvalidFormat

WHAT = "a recorded frame"  # how an error names what it could not read


def bad(problem: str) -> NoReturn:
    raise InvalidFormat(WHAT, None, problem)


def obj(value: object, key: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        bad(f"{key}: not an object")
    return value


def items(value: object, key: str, length: int | None = None) -> Sequence[Any]:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        bad(f"{key}: not a list" + (f" of {length}" if length is not None else ""))
    return value


def integer(value: object, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        bad(f"{key}: not an integer")
    return value


def opt_integer(value: object, key: str) -> int | None:
    return None if value is None else integer(value, key)


def number(value: object, key: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        bad(f"{key}: not a number")
    return float(value)


def opt_number(value: object, key: str) -> float | None:
    return None if value is None else number(value, key)


def numbers(value: object, key: str, length: int) -> list[float]:
    return [number(x, key) for x in items(value, key, length)]


def text(value: object, key: str) -> str:
    if not isinstance(value, str):
        bad(f"{key}: not a string")
    return value


def opt_text(value: object, key: str) -> str | None:
    return None if value is None else text(value, key)


def cgroups(value: object, key: str) -> dict[str, str]:
    """[[path, hierarchy, ...], ...] -> {hierarchy: path}."""
    out = {}
    for group in items(value, key):
        path, *keys = (text(x, key) for x in items(group, key))
        out.update(dict.fromkeys(keys, path))
    return out


def namespaces(value: object, key: str) -> dict[str, int | None]:
    return {text(k, key): opt_integer(v, key) for k, v in obj(value, key).items()}


def pids(value: object, key: str) -> list[int]:
    """Pids written as differences (the first pid, then each step)."""
    out, last = [], 0
    for step in items(value, key):
        last += integer(step, key)
        out.append(last)
    return out
