"""cgscope against a real dockerd (the Docker lane, .ci/runtimes.sh), each check against Docker's own answer
in the same test: `docker inspect`, `docker top`, `docker stats`, `docker diff`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from .containers import cgroup_hierarchies, wait_until
from .runtimes import Docker, DockerContainer, cgroup_parent, cgscope, cgscope_json, docker_size, record

BUSY = "while :; do :; done"


def listed(c: DockerContainer) -> dict[str, Any]:
    """The container's entry in `cgscope containers --json`."""
    rows: list[dict[str, Any]] = [
        r for r in cgscope_json("containers")["containers"] if r["init_pid"] == c.pid
    ]
    assert len(rows) == 1, rows
    return rows[0]


def assert_named_as_docker_names_it(c: DockerContainer) -> dict[str, Any]:
    """Runtime, id, name and init as `docker inspect` gives them (the lane's dockerd keeps its data under
    a --data-root of its own: the name comes from the running dockerd's command line)."""
    row = listed(c)
    assert (row["runtime"], row["id"], row["name"]) == ("docker", c.id, c.inspect["Name"].lstrip("/"))
    return row


def assert_diff_matches(docker: Docker, c: DockerContainer) -> None:
    """`cgscope diff` prints `docker diff`'s lines, byte for byte (sorted: docker's order is a walk's)."""
    ours = sorted(line for line in cgscope("diff", c.name).split("\n") if line)
    theirs = docker.diff(c.name)
    assert ours == theirs
    record(f"diff {c.name}: cgscope {len(ours)} lines, docker diff {len(theirs)} lines, identical")


def test_a_20_percent_quota_busy_loop(docker: Docker) -> None:
    with docker.run("--cpu-period=100000", "--cpu-quota=20000", command=BUSY) as c:
        assert_named_as_docker_names_it(c)
        wait_until(lambda: _state(c.pid) == "R", what="the loop running")
        top = cgscope_json("top", c.name, "-d", "3")["containers"][0]
        stats = docker.stats(c.name)
        ours, theirs = top["cpu"]["host_percent"], float(stats["CPUPerc"].rstrip("%"))
        record(f"cpu {c.name} (quota 20%): cgscope {ours:.2f}%, docker stats {theirs:.2f}%")
        assert top["cpu"]["quota_cpus"] == pytest.approx(0.2)
        assert abs(ours - 20) <= 4 and abs(theirs - 20) <= 4, (ours, theirs)
        assert abs(ours - theirs) <= 3, (ours, theirs)
        # PID 1 is a shell running a builtin loop: no child, alive, no "app exited" warning
        lifecycle = cgscope_json("inspect", c.name, "--no-sizes")["lifecycle"]
        assert (lifecycle["kind"], lifecycle["app_exited"]) == ("shell", False)
        assert "app-exited" not in [w["id"] for w in lifecycle["warnings"]]
        assert_diff_matches(docker, c)


def test_128m_limit_with_anonymous_memory_and_page_cache(docker: Docker) -> None:
    fill = "dd if=/dev/zero of=/dev/shm/anon bs=1M count=24 && dd if=/dev/zero of=/tmp/cache bs=1M count=16"
    with docker.run("-m", "128m", command=f"{fill} 2>/dev/null; exec sleep 1d") as c:
        assert_named_as_docker_names_it(c)
        wait_until(lambda: docker("exec", c.name, "ls", "/tmp/cache").strip(), what="files written")
        # the working set moves by tens of KiB from one moment to the next (the exec just done, the
        # kernel's per-CPU counters): cgscope's read is bracketed by a docker stats on either side
        before = docker.stats(c.name)["MemUsage"]
        top = cgscope_json("top", c.name, "-d", "0.5")["containers"][0]
        after = docker.stats(c.name)["MemUsage"]
        (used0, digit), limit = (docker_size(x) for x in before.split("/"))
        used1 = docker_size(after.split("/")[0])[0]
        ours, usage = top["memory"]["working_set_bytes"], top["memory"]["usage_bytes"]
        record(
            f"working set {c.name} (-m 128m, usage {usage / 2**20:.2f} MiB): cgscope {ours} B "
            f"({ours / 2**20:.2f} MiB), docker stats {before} before, {after} after"
        )
        assert top["memory"]["limit_bytes"] == 128 << 20 == limit[0]
        slack = max(digit, 64 << 10)  # docker prints 4 digits
        assert min(used0, used1) - slack <= ours <= max(used0, used1) + slack, (before, ours, after)
        assert usage >= 40 << 20  # the 24 MiB in shm and 16 MiB of page cache
        assert ours >= 24 << 20  # less the cache, inactive: the kernel would reclaim it before an OOM kill
        meminfo = cgscope("procview", c.name, "meminfo")
        assert "MemTotal:         131072 kB" in meminfo
        # cgroup v1 memory.stat has no slab: KReclaimable stays the host's, as LXCFS shows it
        if any(h.version == 1 and "memory" in h.key.split(",") for h in cgroup_hierarchies()):
            host_kr = _kb(Path("/proc/meminfo").read_text(), "KReclaimable")
            ours_kr = _kb(meminfo, "KReclaimable")
            record(f"KReclaimable {c.name} (v1): cgscope {ours_kr} kB, host {host_kr} kB")
            assert ours_kr is not None and host_kr is not None and host_kr > 0
            assert abs(ours_kr - host_kr) <= max(4096, host_kr // 20)  # the host's, read a moment apart
        assert_diff_matches(docker, c)


def _kb(meminfo: str, key: str) -> int | None:
    for line in meminfo.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def test_several_processes_match_docker_top(docker: Docker) -> None:
    with docker.run(command="sleep 1d & sleep 1d & exec sleep 1d") as c:
        docker("exec", "-d", c.name, "sleep", "1d")  # docker exec joins the container's cgroup
        wait_until(lambda: len(docker.top_pids(c.name)) == 4, what="4 processes")
        row = assert_named_as_docker_names_it(c)
        assert set(row["pids"]) == docker.top_pids(c.name)
        ps = cgscope_json("ps", c.name)
        assert {p["pid"] for p in ps["processes"]} == docker.top_pids(c.name)
        assert_diff_matches(docker, c)


def test_host_pid_and_network_namespaces(docker: Docker) -> None:
    with docker.run("--pid=host", "--network=host") as c:
        row = assert_named_as_docker_names_it(c)
        assert {"pid", "net"} <= set(row["shared_with_host"])
        assert {"mnt", "uts", "ipc"}.isdisjoint(row["shared_with_host"])
        assert row["init_pid"] == c.pid
        assert_diff_matches(docker, c)


def test_a_process_entered_with_nsenter_is_the_containers(docker: Docker) -> None:
    """nsenter -a into container A, with a --pid=host container B beside it: the nsenter and its child
    are A's, not B's (B shares the host's pid namespace, where the nsenter runs)."""
    with docker.run() as a, docker.run("--pid=host") as b:
        entered = subprocess.Popen(
            ["nsenter", "-t", str(a.pid), "-a", "sleep", "60"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            child = wait_until(lambda: _children(entered.pid), what="nsenter's sleep")[0]
            a_pids = {p["pid"] for p in cgscope_json("ps", a.name)["processes"]}
            b_pids = {p["pid"] for p in cgscope_json("ps", b.name)["processes"]}
            assert {entered.pid, child} <= a_pids
            assert not {entered.pid, child} & b_pids
            assert listed(a)["id"] == a.id  # no bare container stands for A's namespaces
            bare = [r for r in cgscope_json("containers")["containers"] if entered.pid in r["pids"]]
            assert [r["id"] for r in bare] == [a.id]
            assert_diff_matches(docker, a)
            assert_diff_matches(docker, b)
        finally:
            entered.kill()
            entered.wait(10)


def _children(pid: int) -> list[int] | None:
    try:
        found = [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return None
    return found or None


def test_capabilities_and_seccomp_as_docker_inspect_gives_them(docker: Docker) -> None:
    caps = ("--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN")
    with docker.run(*caps, "--security-opt", "seccomp=unconfined") as c, docker.run() as plain:
        added, dropped = ({_cap(x) for x in c.inspect["HostConfig"][k]} for k in ("CapAdd", "CapDrop"))
        assert (added, dropped) == ({"CAP_NET_ADMIN"}, {"CAP_CHOWN"})
        isolation = cgscope_json("inspect", c.name, "--no-sizes")["isolation"]
        effective = set(isolation["capabilities"]["effective"])
        assert added <= effective and not dropped & effective
        assert isolation["seccomp"]["mode"] == "disabled"  # seccomp=unconfined
        default = cgscope_json("inspect", plain.name, "--no-sizes")["isolation"]
        assert "CAP_CHOWN" in default["capabilities"]["effective"]
        assert "CAP_NET_ADMIN" not in default["capabilities"]["effective"]
        assert default["seccomp"]["mode"] == "filter"  # Docker's default profile
        assert_named_as_docker_names_it(c)
        assert_diff_matches(docker, c)
        assert_diff_matches(docker, plain)


def _cap(name: str) -> str:
    """Docker 20.10 records "CAP_NET_ADMIN" for --cap-add NET_ADMIN; older ones kept what was given."""
    return name if name.startswith("CAP_") else "CAP_" + name


def test_a_cgroup_parent_of_the_users_choosing(docker: Docker) -> None:
    """--cgroup-parent puts the container outside /docker: its runc state under dockerd's exec root says
    it is Docker's, and its name is Docker's."""
    with cgroup_parent() as parent, docker.run("--cgroup-parent", parent) as c:
        row = assert_named_as_docker_names_it(c)
        assert all(path == f"{parent}/{c.id}" for path in row["cgroup"].values())
        assert {p["pid"] for p in cgscope_json("ps", c.name)["processes"]} == docker.top_pids(c.name)
        assert_diff_matches(docker, c)


def test_diff_is_docker_diff(docker: Docker) -> None:
    scripts = (
        "touch /usr/sbin/newfile; rm /usr/bin/wc; exec sleep 1d",  # the trial's reproduction
        "rm -rf /usr/bin && mkdir /usr/bin && ln -s /bin/busybox /usr/bin/wc && touch /usr/bin/new;"
        " mkdir -p /a/b/c && touch /a/b/c/f && echo x > /root/y && chmod 700 /etc; exec sleep 1d",
        "exec sleep 1d",  # nothing changed
    )
    for script in scripts:
        with docker.run(command=script) as c:
            wait_until(lambda: _execed(c), what="the script done")
            assert_diff_matches(docker, c)


def _execed(c: DockerContainer) -> bool:
    """The container's shell has exec'd its last command (sleep): its changes are all made."""
    return Path(f"/proc/{c.pid}/comm").read_text().strip() == "sleep"


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
