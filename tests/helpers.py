"""What the tests share: cgscope run on a fixture host (`cli`, `cli_json`) or on the live host (`run`,
`run_json`), container ids and namespace inodes for fixtures, and the strings other users choose.

Fixture host scenarios are in tests/hosts/.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fakehost import FakeHost

from cgscope.cli import main

# -- ids and inodes for fixtures ---------------------------------------------------------------------


def hexid(seed: str, prefix: str = "") -> str:
    """A 64-hex container id (a chosen prefix makes ids that share one)."""
    return (prefix + hashlib.sha256(seed.encode()).hexdigest())[:64]


def private(n: int, *kinds: str) -> dict[str, int]:
    """Fresh namespace inodes for `kinds` (default: what a container runtime unshares)."""
    kinds = kinds or ("cgroup", "ipc", "mnt", "net", "pid", "uts")
    return {kind: 4026532000 + 16 * n + i for i, kind in enumerate(kinds)}


# -- cgscope run on a fixture host, or on the live host -------------------------------------------------


def cli(host: FakeHost, *args: str) -> str:
    """`cgscope --root HOST ARGS`, in this process; it must exit 0."""
    out = io.StringIO()
    assert main(["--root", str(host.root), *args], out=out) == 0
    return out.getvalue()


def cli_json(host: FakeHost, *args: str) -> Any:
    """`cgscope --root HOST ARGS --json`, parsed."""
    text = cli(host, *args, "--json")
    assert text.endswith("\n") and text.count("\n") == 1  # one JSON object on one line
    return json.loads(text)


def run(*argv: str) -> str:
    """`cgscope ARGV` on the live host, in this process; it must exit 0."""
    out = io.StringIO()
    assert main(list(argv), out=out) == 0, argv
    return out.getvalue()


def run_json(*argv: str) -> Any:
    """`cgscope ARGV --json` on the live host, parsed."""
    return json.loads(run(*argv, "--json"))


def by_name(data: Any) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in data["containers"]}


def tree_node(node: dict[str, Any], path: str) -> dict[str, Any]:
    """The node of `path` in a tree_json() dict."""
    if node["path"] == path:
        return node
    for child in node["children"]:
        if path == child["path"] or path.startswith(child["path"] + "/"):
            return tree_node(child, path)
    raise KeyError(path)


# -- files for fixtures ------------------------------------------------------------------------------


def files(directory: Path, **contents: str) -> None:
    """Files in `directory`, "__" in a keyword standing for "." (cpu__max= writes cpu.max)."""
    for name, text in contents.items():
        (directory / name.replace("__", ".")).write_text(text)


@contextmanager
def deep_chain(directory: Path, levels: int = 1100, name: str = "d") -> Iterator[None]:
    """`levels` nested cgroups below `directory`, each made in the one before it (as `mkdir` after `cd`
    makes them: no path is ever resolved whole), each with its cgroup.procs; removed again in the end
    the same way (shutil.rmtree and pytest's clean-up recurse, and give up a thousand levels down)."""
    fds = [os.open(directory, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        for _ in range(levels):
            os.mkdir(name, dir_fd=fds[-1])
            fds.append(os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
            os.close(os.open("cgroup.procs", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fds[-1]))
        yield
    finally:
        while len(fds) > 1:
            os.unlink("cgroup.procs", dir_fd=fds[-1])
            os.close(fds.pop())
            os.rmdir(name, dir_fd=fds[-1])
        os.close(fds[0])


def write(path: Path, text: str = "x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# -- the UI libraries a command loads ------------------------------------------------------------------

PROBE = """
import io, json, sys
from cgscope.cli import main
main({argv!r}, out=io.StringIO())
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich"))))
"""


def loaded_ui_modules(argv: list[str]) -> list[str]:
    """The textual and rich modules `cgscope ARGV` imports, in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, check=True
    )
    modules: list[str] = json.loads(result.stdout.splitlines()[-1])
    return modules


# -- strings other users choose (tests/test_escapes.py, tests/tui/test_escapes_dashboard.py) -------------

# Sets the terminal's title (OSC), clears the screen (CSI), breaks the line, and CSI again as one C1 byte.
EVIL = "x\x1b]0;pwned\x07\x1b[2J\nnext\x9bm"
SHOWN = "x\\x1b]0;pwned\\x07\\x1b[2J\\nnext\\x9bm"
COMM = EVIL.encode()[:15].decode()  # the kernel keeps 15 bytes of a process's name
# /proc/PID/cgroup shows a cgroup's path as it is: one with a newline would break the file's lines.
CGROUP = EVIL.replace("\n", " ")
RAW = ("\x1b", "\x9b", "\x07")


def octal(text: str) -> str:
    """A mountinfo field as the kernel escapes it (space, tab, newline, backslash)."""
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in text)
