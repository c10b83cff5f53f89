"""Every command's JSON names containers one way (docs/json.md, "The container reference"): walked over
each command's --json on the fixture hosts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from controlfake import add_interface_files, control_host
from fakehost import FakeHost
from helpers import cli_json
from hosts import counters, inventory
from hosts.docker_detail import DID

REFERENCE = {"id": str, "name": str, "runtime": str, "init_pid": int}


def is_reference(value: Any, *, fuller: bool = False) -> bool:
    """The four keys with their types; `fuller`: other keys may come with them."""
    if not isinstance(value, dict):
        return False
    keys_ok = set(REFERENCE) <= set(value) if fuller else set(value) == set(REFERENCE)
    return keys_ok and all(isinstance(value[k], kind) for k, kind in REFERENCE.items())


MAPS = {"cgroup", "cgroups", "namespaces", "files", "nspids"}  # keyed by hierarchy, type, path or pid


def walk(data: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every key in the document, not descending into maps keyed by data."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield path, key, value
            if key not in MAPS:
                yield from walk(value, f"{path}.{key}")
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from walk(item, f"{path}[{i}]")


def check(data: Any) -> None:
    for path, key, value in walk(data):
        where = f"{path}.{key}"
        if key == "container":
            assert value is None or is_reference(value), where
        elif key == "pids":
            assert isinstance(value, list) and all(isinstance(p, int) for p in value), where
        assert key != "mode" or value not in ("v1", "v2", "hybrid"), f"{where}: say cgroup_mode"
    for row in data.get("containers", []):
        assert is_reference(row, fuller=True), row


Builder = Callable[[Path], FakeHost]
INVENTORY_HOSTS: dict[str, Builder] = {
    "v2": inventory.v2_host,
    "v1": inventory.v1_host,
    "hybrid": inventory.hybrid_host,
    "oci": inventory.oci_host,
}


@pytest.mark.parametrize("name", INVENTORY_HOSTS)
def test_inventory_commands(tmp_path: Path, name: str) -> None:
    host = INVENTORY_HOSTS[name](tmp_path)
    containers = cli_json(host, "containers")
    check(containers)
    assert containers["containers"], "the fixture has containers"
    for argv in (["ps"], ["ns"], ["tree"]):
        check(cli_json(host, *argv))
    for c in containers["containers"]:
        listed = cli_json(host, "ps", c["id"])
        check(listed)
        assert {p["container"]["id"] for p in listed["processes"]} == {c["id"]}


@pytest.mark.parametrize("builder", [counters.v2_host, counters.hybrid_host])
def test_usage_commands(tmp_path: Path, builder: Builder) -> None:
    host = builder(tmp_path)
    top = cli_json(host, "top", "-d", "0.1")
    check(top)
    for row in top["containers"]:
        check(cli_json(host, "top", row["id"], "-d", "0.1"))
        view = cli_json(host, "procview", row["id"], "meminfo")
        check(view)
        assert view["container"]["id"] == row["id"]


def test_inspect_and_diff(docker_host: FakeHost) -> None:
    for command in ("inspect", "diff"):
        data = cli_json(docker_host, command, DID[:12])
        check(data)
        assert data["container"]["id"] == DID


@pytest.mark.parametrize(
    "argv",
    [["limit", "100", "--cpu", "20%"], ["limit", "400", "--pids", "50"], ["move", "100", "/box", "--create"]],
)
def test_change_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    host = control_host(tmp_path)
    check(cli_json(host, *argv, "--dry-run"))


@pytest.mark.parametrize("builder", [counters.v2_host, counters.hybrid_host])
@pytest.mark.parametrize("argv", [["limit", "web", "--pids", "50"], ["freeze", "web"], ["thaw", "web"]])
def test_change_commands_on_a_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, builder: Builder, argv: list[str]
) -> None:
    monkeypatch.setenv("CGSCOPE_STATE", str(tmp_path / "state"))
    host = builder(tmp_path)
    add_interface_files(host)
    data = cli_json(host, *argv, "--dry-run")
    check(data)
    assert data["container"]["name"] == "web"
