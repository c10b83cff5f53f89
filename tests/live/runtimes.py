"""Helpers for the Docker and containerd lanes: the daemons .ci/runtimes.sh starts (or any that the
environment names), containers run in them, and what the runtimes themselves answer.

The lane is found through environment variables (`. DIR/env` after `bash .ci/runtimes.sh start DIR`):
CGSCOPE_TEST_DOCKER (a `docker -H` address), CGSCOPE_TEST_CONTAINERD (containerd's socket),
CGSCOPE_TEST_CTR_NAMESPACE, CGSCOPE_TEST_IMAGE and CGSCOPE_TEST_CTR_IMAGE (the busybox image as docker and
ctr name it). Every container is named ``cgscope-test-<hex>`` and removed on exit, even when the test
fails; figures worth comparing are appended to $CGSCOPE_LANE_FIGURES when set.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cgscope.cli import main

from .containers import cgroup_hierarchies, unique_name, wait_until

LANE_HELP = "start the lane with `bash .ci/runtimes.sh start DIR && . DIR/env`"


def cgscope(*argv: str) -> str:
    out = io.StringIO()
    assert main(list(argv), out=out) == 0, argv
    return out.getvalue()


def cgscope_json(*argv: str) -> Any:
    return json.loads(cgscope(*argv, "--json"))


def record(line: str) -> None:
    """A figure for the lane's report (.ci/run prints them at the end)."""
    path = os.environ.get("CGSCOPE_LANE_FIGURES")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def answers(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def require_lane(*variables: str) -> dict[str, str]:
    """The lane's settings, or a skip saying which is missing."""
    if os.geteuid() != 0:
        pytest.skip("live runtime test needs root")
    missing = [v for v in variables if not os.environ.get(v)]
    if missing:
        pytest.skip(f"no runtime lane: {', '.join(missing)} unset ({LANE_HELP})")
    return {v: os.environ[v] for v in variables}


# -- Docker ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DockerContainer:
    name: str
    id: str
    pid: int  # docker inspect .State.Pid: the init's host pid
    inspect: dict[str, Any]


class Docker:
    def __init__(self, host: str, image: str) -> None:
        self.host, self.image = host, image

    def __call__(self, *args: str, timeout: float = 60) -> str:
        done = subprocess.run(
            ["docker", "-H", self.host, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def inspect(self, name: str) -> dict[str, Any]:
        data: list[dict[str, Any]] = json.loads(self("inspect", name))
        return data[0]

    @contextlib.contextmanager
    def run(self, *options: str, command: str = "exec sleep 1d") -> Iterator[DockerContainer]:
        """`docker run -d` the lane's image as ``sh -c COMMAND``; removed (`rm -f`) on exit."""
        name = unique_name()
        try:
            self("run", "-d", "--name", name, *options, self.image, "sh", "-c", command)
            running = wait_until(
                lambda: (data := self.inspect(name))["State"]["Running"] and data["State"]["Pid"] and data,
                timeout=30,
                what=f"{name} running",
            )
            yield DockerContainer(name, running["Id"], running["State"]["Pid"], running)
        finally:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self("rm", "-f", name)

    def stats(self, name: str) -> dict[str, Any]:
        """`docker stats --no-stream` as JSON ({{json .}}: the Debian 20.10 client lacks `--format json`)."""
        data: dict[str, Any] = json.loads(self("stats", "--no-stream", "--format", "{{json .}}", name))
        return data

    def top_pids(self, name: str) -> set[int]:
        lines = self("top", name, "-eo", "pid").split("\n")[1:]
        return {int(x) for x in lines if x.strip()}

    def diff(self, name: str) -> list[str]:
        return sorted(line for line in self("diff", name).split("\n") if line)


_SIZE = re.compile(r"([0-9.]+)\s*([KMGT]?i?B)")
_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "kB": 1000, "MB": 10**6}


def docker_size(text: str) -> tuple[float, float]:
    """docker's "20.31MiB" (4 significant digits, go-units BytesSize) as (bytes, its last digit's worth)."""
    m = _SIZE.fullmatch(text.strip())
    assert m is not None, text
    number, unit = m.groups()
    return float(number) * _UNITS[unit], 10.0 ** -len(number.partition(".")[2]) * _UNITS[unit]


@contextlib.contextmanager
def cgroup_parent() -> Iterator[str]:
    """A cgroup path for `--cgroup-parent` (or ctr's --cgroup), removed in every hierarchy on exit."""
    path = "/" + unique_name()
    try:
        yield path
    finally:
        remove_cgroup_tree(path)


# -- containerd -----------------------------------------------------------------------------------------


class Ctr:
    def __init__(self, address: str, namespace: str, image: str) -> None:
        self.address, self.namespace, self.image = address, namespace, image

    def __call__(self, *args: str, timeout: float = 60) -> str:
        argv = ["ctr", "-a", self.address, "-n", self.namespace, *args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"ctr {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def task_pid(self, ident: str) -> int | None:
        for line in self("tasks", "ls").splitlines()[1:]:
            fields = line.split()
            if fields and fields[0] == ident and fields[2] == "RUNNING":
                return int(fields[1])
        return None

    @contextlib.contextmanager
    def run(self, ident: str, *options: str, command: str = "exec sleep 1d") -> Iterator[int]:
        """`ctr run -d` the lane's image as ``sh -c COMMAND``; yields the task's pid; removed on exit."""
        try:
            self("run", "-d", "--null-io", *options, self.image, ident, "sh", "-c", command)
            yield wait_until(lambda: self.task_pid(ident), timeout=30, what=f"task {ident}")
        finally:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self("tasks", "kill", "-s", "KILL", ident)
            with contextlib.suppress(TimeoutError):
                wait_until(lambda: self.task_pid(ident) is None, timeout=10, what=f"task {ident} gone")
            for cmd in (("tasks", "rm", "-f", ident), ("containers", "rm", ident)):
                with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                    self(*cmd)


def hex_id() -> str:
    """A 64-hex id, as the CRI gives containers (kubelet's cgroupfs layout names cgroups by them)."""
    return secrets.token_hex(32)


def remove_cgroup_tree(path: str) -> None:
    """rmdir `path` and what is below it in every hierarchy (what ctr's --cgroup made)."""
    for h in cgroup_hierarchies():
        d = h.mountpoint / path.lstrip("/")
        if d.is_dir():
            for sub in sorted((p for p in d.glob("**/") if p.is_dir()), key=lambda p: -len(p.parts)):
                with contextlib.suppress(OSError):
                    sub.rmdir()
