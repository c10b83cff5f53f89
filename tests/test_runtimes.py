"""Runtimes on fake host roots: where each keeps its state, found as its daemon finds it (command line,
configuration file, default), which runtime a container is, what it is named, and what is whose."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakehost import FakeHost
from helpers import by_name, cli, cli_json, hexid, private

from cgscope.fs import runtime_state, statefiles
from cgscope.fs.hostroot import HostRoot
from cgscope.model.runtimes import RUNTIMES, RuntimeStates

WEB = hexid("web")


def base(tmp_path: Path) -> FakeHost:
    h = FakeHost(tmp_path, "v2")
    h.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup="/init.scope")
    h.add_process(2, "kthreadd", ppid=0, kernel_thread=True)
    return h


def container(h: FakeHost, pid: int, comm: str, cgroup: str, n: int, **kw: object) -> None:
    h.add_process(pid, comm, [comm], cgroup=cgroup, nspid=(pid, 1), ns=private(n), **kw)  # type: ignore[arg-type]


def config_v2(h: FakeHost, data_root: str, cid: str, name: str) -> None:
    h.write(f"{data_root}/containers/{cid}/config.v2.json", json.dumps({"ID": cid, "Name": f"/{name}"}))


def test_docker_roots_from_the_running_dockerds_command_line(tmp_path: Path) -> None:
    """dockerd --data-root /srv/docker --exec-root=/srv/run, a container in --cgroup-parent /custom:
    Docker's (its runc state is under dockerd's exec root), named as Docker names it."""
    h = base(tmp_path)
    h.add_process(300, "dockerd", ["/usr/bin/dockerd", "--data-root", "/srv/docker", "--exec-root=/srv/run"])
    container(h, 400, "nginx", f"/custom/{WEB}", 1, start_ticks=5000)
    h.runc_state(WEB, 400, 5000, f"/custom/{WEB}", root="/srv/run/runtime-runc/moby")
    config_v2(h, "/srv/docker", WEB, "web")
    web = by_name(cli_json(h, "containers"))["web"]
    assert (web["runtime"], web["id"], web["init_pid"]) == ("docker", WEB, 400)
    assert set(web["cgroup"].values()) == {f"/custom/{WEB}"}
    assert [p["pid"] for p in cli_json(h, "ps", "web")["processes"]] == [400]


def test_docker_data_root_from_its_configuration_file(tmp_path: Path) -> None:
    h = base(tmp_path)
    h.add_process(300, "dockerd", ["dockerd", "--config-file", "/etc/docker/lane.json"])
    h.write("/etc/docker/lane.json", json.dumps({"data-root": "/data/docker"}))
    container(h, 400, "redis", f"/docker/{WEB}", 1)
    config_v2(h, "/data/docker", WEB, "cache")
    config_v2(h, "/var/lib/docker", WEB, "not-this-one")  # the default root, which this dockerd ignores
    assert set(by_name(cli_json(h, "containers"))) == {"cache"}


def test_docker_default_roots_without_a_running_dockerd(tmp_path: Path) -> None:
    h = base(tmp_path)
    container(h, 400, "redis", f"/docker/{WEB}", 1)
    config_v2(h, "/var/lib/docker", WEB, "cache")
    assert by_name(cli_json(h, "containers"))["cache"]["runtime"] == "docker"


def test_containerd_runc_root_is_containerds(tmp_path: Path) -> None:
    """`ctr run` with containerd's default cgroup /<namespace>/<id>: containerd's, named by its id."""
    h = base(tmp_path)
    container(h, 400, "sleep", "/default/dk2plain", 1, start_ticks=7000)
    h.runc_state("dk2plain", 400, 7000, "/default/dk2plain", root="/run/containerd/runc/default")
    c = by_name(cli_json(h, "containers"))["dk2plain"]
    assert (c["runtime"], c["id"]) == ("containerd", "dk2plain")


def test_cri_bundles_under_containerds_own_state_directory(tmp_path: Path) -> None:
    """containerd --state /srv/state: a kubelet cgroupfs pod container is containerd's, its pod named."""
    h = base(tmp_path)
    h.add_process(300, "containerd", ["containerd", "--state", "/srv/state", "--root", "/srv/root"])
    uid = "5f2a1b3c-1111-2222-3333-444455556666"
    container(h, 400, "app", f"/kubepods/burstable/pod{uid}/{WEB}", 1)
    notes = {
        "io.kubernetes.cri.container-type": "container",
        "io.kubernetes.cri.container-name": "app",
        "io.kubernetes.cri.sandbox-name": "shop",
        "io.kubernetes.cri.sandbox-namespace": "prod",
    }
    h.write(
        f"/srv/state/io.containerd.runtime.v2.task/k8s.io/{WEB}/config.json",
        json.dumps({"annotations": notes}),
    )
    c = by_name(cli_json(h, "containers"))["prod/shop/app"]
    assert c["runtime"] == "containerd"
    assert c["kubernetes"] == {"pod_uid": uid, "qos": "burstable", "namespace": "prod", "pod": "shop"}


def test_containerd_state_from_its_configuration_file(tmp_path: Path) -> None:
    h = base(tmp_path)
    h.add_process(300, "containerd", ["containerd", "-c", "/etc/lane.toml"])
    h.write("/etc/lane.toml", 'version = 2\nstate = "/var/run/lane"\n')
    host = HostRoot.at(h.root)
    daemons = {"containerd": [("containerd", "-c", "/etc/lane.toml")]}
    reader = RuntimeStates(host, daemons).readers["containerd"]
    assert isinstance(reader, runtime_state.ContainerdState)
    assert reader.state_dirs == [h.path("/var/run/lane")]


def test_podman_graphroot_from_storage_conf_and_rootless_storage(tmp_path: Path) -> None:
    h = base(tmp_path)
    h.write("/etc/containers/storage.conf", '[storage]\ndriver = "overlay"\ngraphroot = "/data/containers"\n')
    rootful, rootless = hexid("rootful"), hexid("rootless")
    h.write(
        "/data/containers/overlay-containers/containers.json",
        json.dumps([{"id": rootful, "names": ["db"]}]),
    )
    h.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n")
    h.write(
        "/home/alice/.local/share/containers/storage/overlay-containers/containers.json",
        json.dumps([{"id": rootless, "names": ["notes"]}]),
    )
    container(h, 400, "postgres", f"/machine.slice/libpod-{rootful}.scope", 1)
    user = "/user.slice/user-1000.slice/user@1000.service/user.slice"
    container(h, 500, "python3", f"{user}/libpod-{rootless}.scope", 2, uid=1000)
    got = {c["name"]: c["runtime"] for c in cli_json(h, "containers")["containers"]}
    assert got == {"db": "podman", "notes": "podman"}


def test_a_fifo_or_endless_file_a_user_plants_in_their_storage_reads_as_absent(tmp_path: Path) -> None:
    """A user's rootless storage is theirs: a FIFO named containers.json would block root's read for good,
    a link to /dev/zero would never end. cgscope reads neither (and the rest of the host still)."""
    h = base(tmp_path)
    h.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n")
    lists = h.path("/home/alice/.local/share/containers/storage/overlay-containers")
    lists.mkdir(parents=True)
    os.mkfifo(lists / "containers.json")
    (lists / "volatile-containers.json").symlink_to("/dev/zero")
    h.path("/home/alice/.config/containers").mkdir(parents=True)
    os.mkfifo(h.path("/home/alice/.config/containers/storage.conf"))
    rootless = hexid("rootless")
    user = "/user.slice/user-1000.slice/user@1000.service/user.slice"
    container(h, 500, "python3", f"{user}/libpod-{rootless}.scope", 2, uid=1000)
    done = subprocess.run(
        [sys.executable, "-m", "cgscope", "--root", str(h.root), "containers", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    got = {c["id"]: (c["name"], c["runtime"]) for c in json.loads(done.stdout)["containers"]}
    assert got[rootless] == (rootless[:12], "podman")


def test_state_files_are_read_only_when_regular_and_bounded(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big").write_bytes(b"[]" + b" " * 100)
    (tmp_path / "ok.json").write_text('{"a": 1}')
    assert statefiles.read_regular(tmp_path / "fifo") is None
    assert statefiles.read_regular(Path("/dev/zero")) is None
    assert statefiles.read_regular(tmp_path / "big", limit=50) is None
    assert statefiles.read_regular(tmp_path / "missing") is None
    assert statefiles.load_json(tmp_path / "ok.json") == {"a": 1}
    assert statefiles.load_json(tmp_path / "big") == []
    assert statefiles.load_toml(tmp_path / "ok.json") is None  # not TOML


def test_a_runtime_namespace_removed_mid_walk_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run/containerd/runc/<ns> goes away between listing run/containerd/runc and reading it (its last
    container removed): gone is gone, the other namespaces' containers are still found."""
    h = base(tmp_path)
    for n, ns in enumerate(("a-gone", "b-here"), 1):
        container(h, 400 + n, "sleep", f"/{ns}/c{n}", n, start_ticks=7000)
        h.runc_state(f"c{n}", 400 + n, 7000, f"/{ns}/c{n}", root=f"/run/containerd/runc/{ns}")
    runc_root = h.path("/run/containerd/runc")
    real = os.scandir

    def racing(path: Any) -> Listing:
        with real(path) as it:
            entries = list(it)
        if isinstance(path, str | Path) and Path(path) == runc_root:
            shutil.rmtree(runc_root / "a-gone")  # removed once listed
        return Listing(entries)

    monkeypatch.setattr(os, "scandir", racing)
    got = {c["name"]: c["runtime"] for c in cli_json(h, "containers")["containers"]}
    assert got == {"c1": "bare", "c2": "containerd"}  # c1's state is gone: its processes stand alone


class Listing:
    """What os.scandir gives, taken before the directory changed."""

    def __init__(self, entries: list[os.DirEntry[str]]) -> None:
        self.entries = entries

    def __enter__(self) -> Iterator[os.DirEntry[str]]:
        return iter(self.entries)

    def __exit__(self, *exc: object) -> None:
        return None

    def __iter__(self) -> Iterator[os.DirEntry[str]]:
        return iter(self.entries)


def test_an_nsenter_into_a_container_is_that_containers(tmp_path: Path) -> None:
    """nsenter -t <A's pid> -a sleep: the nsenter runs in the host pid namespace and A's mount namespace,
    its sleep in A's pid namespace, both in the host's cgroup. With B (--pid=host) beside A, both are A's."""
    h = base(tmp_path)
    a_ns, b_ns = private(1), private(2, "ipc", "mnt", "net", "uts")
    h.add_process(400, "nginx", ["nginx"], cgroup=f"/docker/{WEB}", nspid=(400, 1), ns=a_ns)
    other = hexid("b")
    h.add_process(450, "sleep", ["sleep", "1d"], cgroup=f"/docker/{other}", ns=b_ns)
    h.add_process(
        600, "nsenter", ["nsenter", "-t", "400", "-a", "sleep", "60"], ppid=1, ns={"mnt": a_ns["mnt"]}
    )
    h.add_process(601, "sleep", ["sleep", "60"], ppid=600, nspid=(601, 7), ns=a_ns, start_ticks=2000)
    data = cli_json(h, "containers")
    pids = {c["id"]: c["pids"] for c in data["containers"]}
    assert pids == {WEB: [400, 600, 601], other: [450]}
    assert [p["pid"] for p in cli_json(h, "ps", other[:12])["processes"]] == [450]


def test_ids_that_share_a_start_are_shown_apart(tmp_path: Path) -> None:
    h = base(tmp_path)
    one, two = hexid("x", "0123456789abcd"), hexid("y", "0123456789abcd")  # 14 characters in common
    container(h, 400, "a", f"/docker/{one}", 1)
    container(h, 500, "b", f"/docker/{two}", 2)
    ids = {line.split()[3] for line in cli(h, "containers").splitlines()[1:-1]}  # after STATE
    assert ids == {one[:15], two[:15]}


def test_a_bare_container_is_named_by_its_own_cgroup_else_its_command(tmp_path: Path) -> None:
    h = base(tmp_path)
    h.add_process(400, "sh", ["sh"], cgroup="/build-42", nspid=(400, 1), ns=private(1))
    h.add_process(500, "sh", ["sh"], cgroup="/shared", nspid=(500, 1), ns=private(2))
    h.add_process(510, "bash", ["bash"], cgroup="/shared")  # a host process in the same cgroup
    names = {c["init_pid"]: c["name"] for c in cli_json(h, "containers")["containers"]}
    assert names == {400: "build-42", 500: "sh"}
    assert [p["pid"] for p in cli_json(h, "ps", "build-42")["processes"]] == [400]


def test_every_runtime_is_one_entry_with_its_reader() -> None:
    names = [r.name for r in RUNTIMES]
    assert len(names) == len(set(names))
    assert all(issubclass(r.state, runtime_state.RuntimeState) for r in RUNTIMES)
