"""The CLI on fake host roots: v2, v1 and hybrid layouts with every runtime cgscope knows.

Each test builds a host with FakeHost (the kernel's file formats) and asserts on `cgscope --root DIR`'s
JSON (docs/json.md) or text, through cli.main as a user would run it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from fakehost import HOST_NS, HYBRID_HIERARCHIES, FakeHost
from helpers import by_name, cli, cli_json, hexid, private, tree_node
from hosts.inventory import (
    APP_ID,
    BE_UID,
    BESTEFFORT_ID,
    CRIO_ID,
    CRIO_POD_CG,
    CRIO_POD_UID,
    DOCKER_CG,
    DOCKER_ID,
    G_UID,
    HY_DOCKER,
    NSPAWN_CG,
    PAUSE_ID,
    POD_CG,
    POD_NS,
    POD_UID,
    PODMAN_ID,
    SIDECAR_ID,
    TIMESYNCD_MNT,
    UNSHARE_MNT,
    UNSHARE_PID,
    V1_DOCKER,
    hybrid_host,
    oci_host,
    v1_host,
    v2_host,
)
from hosts.systemd import SESSION

from cgscope.cli import main
from cgscope.fs.hostroot import HostRoot

# -- a systemd host on cgroup v2 with one container of each runtime ------------------------------------


V2_HOST_PIDS = [1, 2, 3, 410, 420, 500, 510, 520, 580, 590, 700, 790, 800, 900, 1000, 1010, 1100, 1300]


@pytest.fixture(scope="module")
def v2(tmp_path_factory: pytest.TempPathFactory) -> FakeHost:
    """Shared by the tests that only read it."""
    return v2_host(tmp_path_factory.mktemp("v2"))


def test_v2_host_section(v2: FakeHost) -> None:
    host = cli_json(v2, "containers")["host"]
    assert host["hostname"] == "node1"
    assert host["kernel"] == "6.1.0-13-amd64"
    assert host["cgroup_mode"] == "v2"
    assert host["hierarchies"] == [
        {
            "name": "unified",
            "version": 2,
            "mountpoint": "/sys/fs/cgroup",  # as the host names it, not the fixture path
            "controllers": ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"],
        }
    ]
    assert host["namespaces"] == HOST_NS
    # Services (also a sandboxed one), sessions, daemons, the shims, conmons, the LXC monitor and the
    # nspawn supervisor are the host.
    assert host["pids"] == V2_HOST_PIDS


def test_v2_every_runtime(v2: FakeHost) -> None:
    data = cli_json(v2, "containers")
    got = {c["name"]: (c["runtime"], c["id"], c["init_pid"], c["pids"]) for c in data["containers"]}
    assert got == {
        "sleep": ("bare", f"pid-{UNSHARE_PID}", 1201, [1200, 1201]),
        "default/web-7d9f/(pause)": ("containerd", PAUSE_ID, 600, [600]),
        "default/web-7d9f/app": ("containerd", APP_ID, 610, [610]),
        "default/web-7d9f/log-shipper": ("containerd", SIDECAR_ID, 620, [620]),
        "monitoring/node-exporter-x2k/exporter": ("cri-o", CRIO_ID, 810, [810]),
        "nginx": ("docker", DOCKER_ID, 530, [530, 531]),
        "web": ("lxc", "web", 910, [910, 920]),
        "db": ("podman", PODMAN_ID, 710, [710]),
        "my-box": ("systemd-nspawn", "my-box", 1110, [1110]),
    }
    # Sorted by runtime, then name.
    assert [c["runtime"] for c in data["containers"]] == sorted(c["runtime"] for c in data["containers"])
    # Every process is in exactly one place.
    placed = data["host"]["pids"] + [pid for c in data["containers"] for pid in c["pids"]]
    assert sorted(placed) == sorted(int(p.name) for p in v2.proc.iterdir() if p.name.isdigit())


def test_v2_container_cgroups(v2: FakeHost) -> None:
    """A container's cgroup is its runtime's own cgroup, not a sub-cgroup it made below it."""
    got = {c["name"]: c["cgroup"] for c in cli_json(v2, "containers")["containers"]}
    assert got["nginx"] == {"unified": DOCKER_CG}
    assert got["db"] == {"unified": f"/machine.slice/libpod-{PODMAN_ID}.scope"}
    assert got["web"] == {"unified": "/lxc.payload.web"}
    assert got["my-box"] == {"unified": NSPAWN_CG}
    assert got["default/web-7d9f/app"] == {"unified": f"{POD_CG}/cri-containerd-{APP_ID}.scope"}
    assert got["monitoring/node-exporter-x2k/exporter"] == {"unified": f"{CRIO_POD_CG}/crio-{CRIO_ID}.scope"}
    assert got["sleep"] == {"unified": "/"}


def test_v2_kubernetes_pods(v2: FakeHost) -> None:
    containers = cli_json(v2, "containers")["containers"]
    pods = {c["id"]: c["kubernetes"] for c in containers if c["kubernetes"]}
    # uid and QoS from the cgroup (the slice's "_" turned back into "-"), names from the CRI's bundle
    burstable = {"pod_uid": POD_UID, "qos": "burstable", "namespace": "default", "pod": "web-7d9f"}
    assert pods == {
        PAUSE_ID: burstable,
        APP_ID: burstable,
        SIDECAR_ID: burstable,
        CRIO_ID: {
            "pod_uid": CRIO_POD_UID,
            "qos": "besteffort",
            "namespace": "monitoring",
            "pod": "node-exporter-x2k",
        },
    }
    assert all(c["kubernetes"] is None for c in containers if c["id"] not in pods)


def test_v2_namespaces_and_nspids(v2: FakeHost) -> None:
    c = by_name(cli_json(v2, "containers"))
    assert c["nginx"]["nspids"] == {"530": 1, "531": 29}
    assert c["nginx"]["namespaces"] == {**HOST_NS, **private(2)}
    assert c["nginx"]["shared_with_host"] == ["time", "user"]
    assert c["web"]["nspids"] == {"910": 1, "920": 80}
    # The bare container's unshare parent is in the host's pid namespace: no pid inside the container.
    assert c["sleep"]["nspids"] == {"1200": None, "1201": 1}
    assert c["sleep"]["namespaces"] == {**HOST_NS, "mnt": UNSHARE_MNT, "pid": UNSHARE_PID}
    assert c["sleep"]["shared_with_host"] == ["cgroup", "ipc", "net", "time", "user", "uts"]
    # Pod containers share the pause container's network, not the host's.
    app = c["default/web-7d9f/app"]
    assert app["namespaces"]["net"] == POD_NS["net"] == c["default/web-7d9f/(pause)"]["namespaces"]["net"]
    assert app["shared_with_host"] == ["time", "user"]


def test_v2_ps_all(v2: FakeHost) -> None:
    procs = {p["pid"]: p for p in cli_json(v2, "ps")["processes"]}
    assert list(procs) == sorted(procs)
    assert procs[531] == {
        "pid": 531,
        "nspid": 29,
        "ppid": 530,
        "uid": 101,
        "user": "101",  # no such user in the host's /etc/passwd
        "state": "S",
        "command": "nginx: worker process",
        "start_time": round(v2.btime + 5010 / 100, 2),
        "container": {"id": DOCKER_ID, "name": "nginx", "runtime": "docker", "init_pid": 530},
        "cgroups": {"unified": DOCKER_CG},
        "namespaces": {**HOST_NS, **private(2)},
    }
    assert procs[1010]["user"] == "alice"
    assert procs[420]["user"] == "systemd-timesync"
    assert procs[420]["container"] is None
    assert procs[2]["command"] == "[kthreadd]"
    assert procs[3]["command"] == "[kworker/0:0H-events_highpri]"  # a worker's comm is not cut at 15
    assert procs[3]["state"] == "I"
    assert procs[1300]["command"] == "[evil) R 9 (x]"  # zombie: no cmdline; comm parsed to the last ")"
    assert (procs[1300]["state"], procs[1300]["ppid"]) == ("Z", 1010)
    # An exited task keeps only its pid and user namespaces.
    assert procs[1300]["namespaces"] == {
        **dict.fromkeys(HOST_NS),
        "pid": HOST_NS["pid"],
        "user": HOST_NS["user"],
    }


@pytest.mark.parametrize(
    ("target", "pids"),
    [
        (DOCKER_ID[:5], [530, 531]),  # an id prefix
        (DOCKER_ID, [530, 531]),  # the full id
        ("web", [910, 920]),  # a name
        ("default/web-7d9f/app", [610]),
        ("531", [530, 531]),  # a member pid
        ("410", [410]),  # a host process: shown alone
        ("my-box", [1110]),
    ],
)
def test_ps_target(v2: FakeHost, target: str, pids: list[int]) -> None:
    assert [p["pid"] for p in cli_json(v2, "ps", target)["processes"]] == pids


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("abc", "'abc' matches 2 containers"),  # docker's and podman's ids both start with it
        ("nope", "no container named 'nope'"),
        ("99999", "no such process: 99999"),
    ],
)
def test_ps_target_errors(
    v2: FakeHost, capsys: pytest.CaptureFixture[str], target: str, message: str
) -> None:
    out = io.StringIO()
    assert main(["--root", str(v2.root), "ps", target, "--json"], out=out) == 1
    assert out.getvalue() == ""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cgscope: ") and message in err


@pytest.mark.parametrize(
    "argv", [["ps", "a", "b"], ["ns", "--type", "bogus"], ["frobnicate"], ["--bogus", "containers"]]
)
def test_usage_errors(v2: FakeHost, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    out = io.StringIO()
    assert main(["--root", str(v2.root), *argv], out=out) == 2
    assert out.getvalue() == ""
    assert "usage: cgscope" in capsys.readouterr().err


def test_missing_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(tmp_path), "containers"], out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mountinfo not found" in err


def test_v2_ns(v2: FakeHost) -> None:
    rows = cli_json(v2, "ns")["namespaces"]
    assert [(r["ns"], r["type"]) for r in rows] == sorted((r["ns"], r["type"]) for r in rows)
    by = {(r["type"], r["ns"]): r for r in rows}
    # Kernel threads count: lsns lists them too. The zombie is left out: its net link is gone.
    assert by[("net", HOST_NS["net"])] == {
        "ns": HOST_NS["net"],
        "type": "net",
        "nprocs": len(V2_HOST_PIDS) - 1 + 2,  # - the zombie, + the unshare pair
        "pid": 1,
        "user": "root",
        "command": "/sbin/init",
    }
    assert by[("net", POD_NS["net"])]["nprocs"] == 3
    assert by[("net", POD_NS["net"])]["pid"] == 600
    unshared = by[("pid", UNSHARE_PID)]
    assert (unshared["nprocs"], unshared["pid"], unshared["command"]) == (1, 1201, "sleep infinity")
    assert by[("mnt", UNSHARE_MNT)]["nprocs"] == 2
    assert by[("mnt", TIMESYNCD_MNT)]["user"] == "systemd-timesync"
    only_pid = cli_json(v2, "ns", "-t", "pid")["namespaces"]
    assert {r["type"] for r in only_pid} == {"pid"}
    assert len(only_pid) == 10  # the host's, unshare's, and 8 containers' own


def test_v2_tree(v2: FakeHost) -> None:
    data = cli_json(v2, "tree")
    assert data["cgroup_mode"] == "v2"
    [unified] = data["hierarchies"]
    assert (unified["name"], unified["version"]) == ("unified", 2)
    assert unified["mountpoint"] == "/sys/fs/cgroup"
    root = unified["tree"]
    assert root["path"] == "/"
    assert root["procs"] == 4  # kthreadd, the worker, the unshare pair
    assert root["total_procs"] == 29  # every process but the zombie (cgroup.procs lists no zombies)
    assert [c["path"] for c in root["children"]] == [
        "/init.scope",
        "/kubepods.slice",
        "/lxc.monitor.web",
        "/lxc.payload.web",
        "/machine.slice",
        "/system.slice",
        "/user.slice",
    ]
    nspawn = tree_node(root, NSPAWN_CG)
    assert (nspawn["procs"], nspawn["total_procs"]) == (0, 2)
    assert [c["path"] for c in nspawn["children"]] == [f"{NSPAWN_CG}/payload", f"{NSPAWN_CG}/supervisor"]
    assert tree_node(root, SESSION)["procs"] == 2  # sshd and bash; the zombie is not listed
    assert tree_node(root, "/system.slice")["total_procs"] == 10  # 8 services + the docker scope


def test_v2_cgroup_files(v2: FakeHost) -> None:
    """The fixture itself: cgroup.controllers lists what the parent enables; leaves enable nothing."""
    top = v2.path("/sys/fs/cgroup")
    assert (top / "cgroup.subtree_control").read_text() == "cpuset cpu io memory pids\n"
    assert (top / "system.slice/cgroup.controllers").read_text() == "cpuset cpu io memory pids\n"
    assert (top / "system.slice/sshd.service/cgroup.subtree_control").read_text() == ""
    assert (top / f"system.slice/docker-{DOCKER_ID}.scope/cgroup.procs").read_text() == "530\n531\n"
    assert v2.path("/proc/1/cgroup").read_text() == "0::/init.scope\n"
    status = v2.path("/proc/531/status").read_text()
    assert "\nNSpid:\t531\t29\n" in status and "\nUid:\t101\t101\t101\t101\n" in status
    assert v2.path("/proc/1201/cmdline").read_bytes() == b"sleep\0infinity\0"


def test_unreadable_namespaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """/proc/1/ns/* refused (a supervisor we may not ptrace): null, and the host's come from kthreadd."""
    h = FakeHost(tmp_path, "v2")
    h.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup="/init.scope")
    h.add_process(2, "kthreadd", ppid=0, kernel_thread=True)
    for pid, nspid in ((530, 1), (531, 29)):
        h.add_process(pid, "nginx", ["nginx"], cgroup=DOCKER_CG, nspid=(pid, nspid), ns=private(2))
    h.add_process(
        710,
        "postgres",
        ["postgres"],
        cgroup=f"/machine.slice/libpod-{PODMAN_ID}.scope",
        nspid=(710, 1),
        ns=private(6),
    )
    h.deny_ns(1, monkeypatch)
    h.deny_ns(530, monkeypatch)
    data = cli_json(h, "containers")
    assert data["host"]["namespaces"] == HOST_NS
    c = {c["id"]: c for c in data["containers"]}
    assert c[DOCKER_ID]["pids"] == [530, 531]  # still found by its cgroup
    assert c[DOCKER_ID]["namespaces"] == dict.fromkeys(HOST_NS)
    assert c[DOCKER_ID]["shared_with_host"] == []  # unknown is neither shared nor private
    assert c[PODMAN_ID]["shared_with_host"] == ["time", "user"]
    [init] = cli_json(h, "ps", "1")["processes"]
    assert init["namespaces"] == dict.fromkeys(HOST_NS)
    host_net = next(r for r in cli_json(h, "ns")["namespaces"] if r["ns"] == HOST_NS["net"])
    assert (host_net["pid"], host_net["command"]) == (2, "[kthreadd]")  # pid 1 is not counted
    assert "cgroup?,ipc?,mnt?,net?,pid?,time?,user?,uts?" in cli(h, "containers")


def test_v2_text_views(v2: FakeHost) -> None:
    lines = cli(v2, "containers").splitlines()
    assert lines[0].split() == [
        "NAME",
        "RUNTIME",
        "STATE",
        "ID",
        "INIT",
        "PIDS",
        "OWN",
        "NAMESPACES",
        "CGROUP",
    ]
    nginx = next(line for line in lines if line.startswith("nginx "))
    assert nginx.split() == [
        "nginx",
        "docker",
        "running",
        DOCKER_ID[:12],
        "530",
        "2",
        "cgroup,ipc,mnt,net,pid,uts",
        DOCKER_CG,
    ]
    assert lines[-1].split() == ["(host)", "-", "-", "-", "1", str(len(V2_HOST_PIDS)), "-", "/"]
    ps = cli(v2, "ps", "nginx").splitlines()
    assert ps[0].split() == ["PID", "NSPID", "PPID", "USER", "S", "START", "CONTAINER", "COMMAND"]
    assert ps[2].split()[:5] == ["531", "29", "530", "101", "S"]
    assert re.split(r"  +", ps[2])[-2:] == ["nginx", "nginx: worker process"]
    ns = cli(v2, "ns", "-t", "uts").splitlines()
    assert ns[1].split() == [
        str(HOST_NS["uts"]),
        "uts",
        str(len(V2_HOST_PIDS) - 1 + 2),
        "1",
        "root",
        "/sbin/init",
    ]


def test_tree_text(tmp_path: Path) -> None:
    h = FakeHost(tmp_path, "v2")
    h.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup="/init.scope")
    h.add_process(2, "kthreadd", ppid=0, kernel_thread=True)
    h.add_process(10, "sshd", ["sshd"], cgroup="/system.slice/sshd.service")
    h.add_process(11, "cron", ["cron"], cgroup="/system.slice/cron.service")
    h.add_cgroup("/system.slice/empty.service")
    assert cli(h, "tree") == (
        "unified (cgroup v2, /sys/fs/cgroup):\n"
        "/  1/4\n"
        "├─init.scope  1\n"
        "└─system.slice  0/2\n"
        "  ├─cron.service  1\n"
        "  ├─empty.service  0\n"
        "  └─sshd.service  1\n"
        "\n"
    )


# -- cgroup v1: co-mounted controllers, name=systemd, cgroupfs drivers ----------------------------------


@pytest.fixture(scope="module")
def v1(tmp_path_factory: pytest.TempPathFactory) -> FakeHost:
    return v1_host(tmp_path_factory.mktemp("v1"))


def test_v1_hierarchies(v1: FakeHost) -> None:
    h = v1
    host = cli_json(h, "containers")["host"]
    assert host["cgroup_mode"] == "v1"
    assert [(x["name"], x["controllers"], x["mountpoint"]) for x in host["hierarchies"]] == [
        ("name=systemd", ["name=systemd"], "/sys/fs/cgroup/systemd"),
        ("cpu,cpuacct", ["cpu", "cpuacct"], "/sys/fs/cgroup/cpu,cpuacct"),
        ("memory", ["memory"], "/sys/fs/cgroup/memory"),
        ("pids", ["pids"], "/sys/fs/cgroup/pids"),
    ]
    assert host["pids"] == [1, 2, 300]
    # No "0::" line: cgroup2 was never mounted.
    path = f"/docker/{V1_DOCKER}"
    assert h.path("/proc/400/cgroup").read_text().splitlines() == [
        f"4:pids:{path}",
        f"3:memory:{path}",
        f"2:cpu,cpuacct:{path}",
        f"1:name=systemd:{path}",
    ]


def test_v1_cgroupfs_drivers(v1: FakeHost) -> None:
    data = by_name(cli_json(v1, "containers"))
    cache = data["cache"]
    assert (cache["runtime"], cache["id"], cache["pids"]) == ("docker", V1_DOCKER, [400])
    assert cache["cgroup"] == dict.fromkeys(
        ["name=systemd", "cpu,cpuacct", "memory", "pids"], f"/docker/{V1_DOCKER}"
    )
    assert cache["shared_with_host"] == ["cgroup", "time", "user"]
    besteffort = data[BESTEFFORT_ID[:12]]  # no bundle to name it
    assert (besteffort["runtime"], besteffort["id"]) == ("kubernetes", BESTEFFORT_ID)
    assert besteffort["kubernetes"] == {
        "pod_uid": BE_UID,
        "qos": "besteffort",
        "namespace": None,
        "pod": None,
    }
    assert besteffort["runtime"] == "kubernetes"  # no CRI runtime's state knows it
    assert besteffort["cgroup"]["memory"] == f"/kubepods/besteffort/pod{BE_UID}/{BESTEFFORT_ID}"
    guaranteed = data["prod/front/nginx"]
    assert guaranteed["kubernetes"] == {
        "pod_uid": G_UID,
        "qos": "guaranteed",
        "namespace": "prod",
        "pod": "front",
    }
    assert guaranteed["runtime"] == "containerd"  # containerd's bundle holds it: the CRI is known
    assert guaranteed["init_pid"] == 510


def test_v1_tree(v1: FakeHost) -> None:
    data = cli_json(v1, "tree", "-H", "cpu,cpuacct")
    assert data["cgroup_mode"] == "v1"
    [cpu] = data["hierarchies"]
    assert (cpu["name"], cpu["version"]) == ("cpu,cpuacct", 1)
    root = cpu["tree"]
    assert (root["procs"], root["total_procs"]) == (2, 6)  # init and kthreadd at the root here
    assert tree_node(root, f"/docker/{V1_DOCKER}")["procs"] == 1
    assert tree_node(root, "/kubepods")["total_procs"] == 2
    names = {h["name"] for h in cli_json(v1, "tree")["hierarchies"]}
    assert names == {"name=systemd", "cpu,cpuacct", "memory", "pids"}


def test_tree_unknown_hierarchy(v1: FakeHost, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(v1.root), "tree", "-H", "nosuch"], out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "choose one of name=systemd, cpu,cpuacct, memory, pids" in err


# -- hybrid: v1 controllers beside cgroup2 at /sys/fs/cgroup/unified ----------------------------------

SLASH_TAIL = ["3:cpuset:/", "2:cpuacct:/", "1:cpu:/", "0::/"]


def test_hybrid(tmp_path: Path) -> None:
    h = hybrid_host(tmp_path)
    data = cli_json(h, "containers")
    host = data["host"]
    assert host["cgroup_mode"] == "hybrid"
    unified = next(x for x in host["hierarchies"] if x["name"] == "unified")
    assert unified == {
        "name": "unified",
        "version": 2,
        "mountpoint": "/sys/fs/cgroup/unified",
        "controllers": [],
    }
    assert [x["name"] for x in host["hierarchies"] if x["version"] == 1] == list(HYBRID_HIERARCHIES)
    assert host["pids"] == [1, 2, 50]
    [api] = data["containers"]
    assert (api["name"], api["runtime"], api["pids"]) == ("api", "docker", [600])
    assert len(api["cgroup"]) == 10 and set(api["cgroup"].values()) == {
        f"/system.slice/docker-{HY_DOCKER}.scope"
    }
    agent_lines = h.path("/proc/50/cgroup").read_text().splitlines()
    assert agent_lines[0] == "9:name=systemd:/"  # the newest hierarchy first, cgroup2 last
    assert agent_lines[5:] == ["4:memory:/process_api/44b44fef020b68810f1938a94c68706f", *SLASH_TAIL]
    [agent] = cli_json(h, "ps", "50")["processes"]
    assert agent["cgroups"]["memory"] == "/process_api/44b44fef020b68810f1938a94c68706f"
    assert agent["cgroups"]["unified"] == "/"
    tree = cli_json(h, "tree")
    assert tree["cgroup_mode"] == "hybrid"
    memory = next(x for x in tree["hierarchies"] if x["name"] == "memory")["tree"]
    assert tree_node(memory, "/process_api/44b44fef020b68810f1938a94c68706f")["procs"] == 1


# -- plain runc and crun, found through their state files ---------------------------------------------


def test_runc_and_crun_state_files(tmp_path: Path) -> None:
    data = cli_json(oci_host(tmp_path), "containers")
    c = by_name(data)
    assert set(c) == {"demo", "crun-demo"}  # no "stale"
    demo = c["demo"]
    assert (demo["runtime"], demo["id"], demo["init_pid"], demo["pids"]) == (
        "runc",
        "demo",
        1400,
        [1400, 1401],
    )
    assert demo["nspids"] == {"1400": 1, "1401": 2}
    assert len(demo["cgroup"]) == 10 and set(demo["cgroup"].values()) == {"/mygroup/demo"}
    crun = c["crun-demo"]
    assert (crun["runtime"], crun["id"], crun["pids"]) == ("crun", "crun-demo", [1600])
    assert set(crun["cgroup"].values()) == {"/mygroup/crun-demo"}
    assert data["host"]["pids"] == [1, 2, 1500]  # pid reused: not the state file's container


def test_runc_without_state_file_is_bare(tmp_path: Path) -> None:
    """Without its state file, a runc container in a cgroup no runtime names is known as "bare" only."""
    h = oci_host(tmp_path, "v2", states=False)
    runtimes = {c["id"]: c["runtime"] for c in cli_json(h, "containers")["containers"]}
    assert runtimes == {f"pid-{private(5)['pid']}": "bare", f"pid-{private(6)['pid']}": "bare"}


def test_podman_volatile_list(tmp_path: Path) -> None:
    """`podman run --rm` records its container in volatile-containers.json."""
    h = FakeHost(tmp_path, "v2")
    h.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup="/init.scope")
    cid, rm_cid = hexid("kept"), hexid("removed-on-exit")
    for pid, ident in ((10, cid), (20, rm_cid)):
        h.add_process(
            pid, "sh", ["sh"], cgroup=f"/machine.slice/libpod-{ident}.scope", nspid=(pid, 1), ns=private(pid)
        )
    h.podman_container(cid, "kept")
    h.podman_container(rm_cid, "scratch", volatile=True)
    assert {c["name"]: c["id"] for c in cli_json(h, "containers")["containers"]} == {
        "kept": cid,
        "scratch": rm_cid,
    }


# -- cgroup mounts that show a sub-cgroup (mountinfo's root field) ------------------------------------

NS_DOCKER = hexid("cgroupns-docker")


def test_mount_root_not_slash(tmp_path: Path) -> None:
    """Inside a v1 Docker container without a cgroup namespace, each hierarchy is a bind mount of the
    container's cgroup: mountinfo's root field is /docker/<id>, and /proc/PID/cgroup paths are absolute."""
    top = f"/docker/{NS_DOCKER}"
    h = FakeHost(tmp_path, "v1", mount_root=top)
    assert f" {top} /sys/fs/cgroup/memory " in h.path("/proc/self/mountinfo").read_text()
    h.add_process(1, "sh", ["/bin/sh"], ppid=0, cgroup=top)
    h.add_process(7, "sleep", ["sleep", "60"], cgroup=f"{top}/inner")

    host = HostRoot.at(h.root)
    memory = host.mount("memory")
    assert memory is not None and memory.root == top
    assert memory.directory(top) == h.path("/sys/fs/cgroup/memory")
    assert memory.directory(f"{top}/inner") == h.path("/sys/fs/cgroup/memory/inner")
    assert memory.directory("/") is None  # outside the mounted subtree
    assert memory.directory(f"{top}0") is None  # a sibling sharing the prefix
    assert memory.directory(f"{top}/../other") is None
    assert memory.cgroup_path(h.path("/sys/fs/cgroup/memory/inner")) == f"{top}/inner"
    assert memory.cgroup_path(h.path("/sys/fs/cgroup/memory")) == top

    tree = cli_json(h, "tree", "-H", "memory")["hierarchies"][0]["tree"]
    assert (tree["path"], tree["procs"], tree["total_procs"]) == (top, 1, 2)
    assert [c["path"] for c in tree["children"]] == [f"{top}/inner"]
    # The reader is itself inside the container: it is found, with the reader's own namespaces.
    [c] = cli_json(h, "containers")["containers"]
    assert (c["runtime"], c["id"], c["pids"]) == ("docker", NS_DOCKER, [1, 7])
    assert c["cgroup"]["memory"] == top


def test_mount_root_above_cgroupns(tmp_path: Path) -> None:
    """A host mount seen from inside another cgroup namespace: its root is "/../..", and so are the
    paths of processes outside the namespace."""
    h = FakeHost(tmp_path, "v2", mount_root="/../..")
    h.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup="/../../init.scope")
    unified = HostRoot.at(h.root).unified
    assert unified is not None and unified.root == "/../.."
    assert unified.directory("/../../init.scope") == h.path("/sys/fs/cgroup/init.scope")
    tree = cli_json(h, "tree")["hierarchies"][0]["tree"]
    assert tree["path"] == "/../.."
    assert tree_node(tree, "/../../init.scope")["procs"] == 1


def test_mounted_twice_and_escaped_mountpoint(tmp_path: Path) -> None:
    """A hierarchy mounted twice keeps the mount of its root; mountinfo escapes spaces as \\040."""
    h = FakeHost(tmp_path, "v1")
    h.add_mountinfo(f"90 22 0:28 /docker/{V1_DOCKER} /mnt/ctr/memory rw,relatime - cgroup cgroup rw,memory")
    h.add_mountinfo("91 22 0:40 / /mnt/my\\040cgroups rw,relatime - cgroup none rw,name=test")
    (h.root / "mnt/my cgroups").mkdir(parents=True)
    host = HostRoot.at(h.root)
    memory = host.mount("memory")
    assert memory is not None and (memory.root, memory.mountpoint) == ("/", h.path("/sys/fs/cgroup/memory"))
    named = host.mount("name=test")
    assert named is not None and named.mountpoint == h.path("/mnt/my cgroups")
    assert named.controllers == ("name=test",)


def test_hybrid_runtime_outside_unified(tmp_path: Path) -> None:
    """runc before 1.1 joins only the v1 hierarchies on a hybrid host: its container stays in the shim's
    cgroup2 cgroup, and only the v1 paths (name=systemd first) name the container."""
    h = FakeHost(tmp_path, "hybrid")
    h.add_process(
        1, "systemd", ["/sbin/init"], ppid=0, cgroup={"name=systemd": "/init.scope", "unified": "/init.scope"}
    )
    h.add_process(2, "kthreadd", ppid=0, kernel_thread=True)
    shim = "/system.slice/containerd.service"
    h.add_process(500, "containerd-shim", ["containerd-shim"], cgroup={"name=systemd": shim, "unified": shim})
    cid = hexid("old-runc")
    v1 = {key: f"/docker/{cid}" for key in HYBRID_HIERARCHIES}
    h.add_process(
        510,
        "redis-server",
        ["redis-server"],
        ppid=500,
        cgroup={**v1, "unified": shim},
        nspid=(510, 1),
        ns=private(1),
    )
    h.docker_container(cid, "cache", 510)
    data = cli_json(h, "containers")
    [c] = data["containers"]
    assert (c["name"], c["runtime"], c["pids"]) == ("cache", "docker", [510])
    assert c["cgroup"]["name=systemd"] == f"/docker/{cid}"
    assert data["host"]["pids"] == [1, 2, 500]


def test_v2_host_with_a_named_v1_hierarchy(tmp_path: Path) -> None:
    """A cgroup v2 host that also mounts an empty name=systemd hierarchy (for containers that need one):
    the containers are found in cgroup2."""
    h = FakeHost(tmp_path, "hybrid", v1=("name=systemd",))
    h.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup={"unified": "/init.scope"})
    h.add_process(700, "nginx", ["nginx"], cgroup={"unified": DOCKER_CG}, nspid=(700, 1), ns=private(1))
    h.docker_container(DOCKER_ID, "nginx", 700)
    [c] = cli_json(h, "containers")["containers"]
    assert (c["name"], c["pids"], c["cgroup"]) == (
        "nginx",
        [700],
        {"unified": DOCKER_CG, "name=systemd": "/"},
    )


def test_nspawn_service(tmp_path: Path) -> None:
    """`machinectl start` runs nspawn as systemd-nspawn@NAME.service, split in supervisor and payload."""
    h = FakeHost(tmp_path, "v2")
    h.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup="/init.scope")
    unit = "/machine.slice/systemd-nspawn@arch.service"
    h.add_process(
        40, "systemd-nspawn", ["systemd-nspawn", "--keep-unit", "-bM", "arch"], cgroup=f"{unit}/supervisor"
    )
    h.add_process(
        41,
        "systemd",
        ["/usr/lib/systemd/systemd"],
        ppid=40,
        cgroup=f"{unit}/payload",
        nspid=(41, 1),
        ns=private(1),
    )
    data = cli_json(h, "containers")
    [c] = data["containers"]
    assert (c["name"], c["runtime"], c["pids"], c["cgroup"]) == (
        "arch",
        "systemd-nspawn",
        [41],
        {"unified": unit},
    )
    assert data["host"]["pids"] == [1, 40]


def test_zombie_in_a_container(tmp_path: Path) -> None:
    """A zombie is in no cgroup.procs, but it is still in its container's pid namespace."""
    h = FakeHost(tmp_path, "v2")
    h.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup="/init.scope")
    h.add_process(530, "nginx", ["nginx"], cgroup=DOCKER_CG, nspid=(530, 1), ns=private(2))
    h.add_process(540, "sh", ppid=530, cgroup=DOCKER_CG, nspid=(540, 9), ns=private(2), state="Z")
    h.docker_container(DOCKER_ID, "nginx", 530)
    assert h.path(f"/sys/fs/cgroup{DOCKER_CG}/cgroup.procs").read_text() == "530\n"
    data = cli_json(h, "containers")
    assert [(c["name"], c["pids"], c["nspids"]) for c in data["containers"]] == [
        ("nginx", [530, 540], {"530": 1, "540": 9})
    ]
    assert data["host"]["pids"] == [1]
