"""Hosts for the inventory commands (containers, ps, ns, tree): a systemd host on cgroup v2 with one
container of each runtime, a v1 host (co-mounted controllers, cgroupfs drivers), a hybrid host, and
plain runc and crun containers found through their state files.
"""

from __future__ import annotations

from pathlib import Path

from fakehost import FakeHost, Mode
from helpers import hexid, private

from .systemd import SESSION, docker_nginx, init_and_kernel_threads, podman_postgres, ssh_session

DOCKER_ID = hexid("docker", "abc1")


PODMAN_ID = hexid("podman", "abc2")  # shares "abc" with DOCKER_ID


PAUSE_ID, APP_ID, SIDECAR_ID = hexid("pause"), hexid("app"), hexid("sidecar")


CRIO_ID = hexid("crio")


POD_UID = "8f2d3c4e-1a2b-4c5d-9e8f-0a1b2c3d4e5f"


CRIO_POD_UID = "0b7e6a52-3c1d-4e2f-8a9b-5c6d7e8f9a0b"


DOCKER_CG = f"/system.slice/docker-{DOCKER_ID}.scope"


POD_CG = f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{POD_UID.replace('-', '_')}.slice"


CRIO_POD_CG = (
    f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{CRIO_POD_UID.replace('-', '_')}.slice"
)


NSPAWN_CG = "/machine.slice/machine-my\\x2dbox.scope"  # systemd escapes "-" in unit names


TIMESYNCD_MNT = 4026532301  # PrivateTmp=: a service's own mount namespace


UNSHARE_MNT, UNSHARE_PID = 4026532310, 4026532311


POD_NS = private(1, "ipc", "net", "uts")  # the pause container's, shared by its pod


def v2_host(tmp_path: Path) -> FakeHost:
    h = FakeHost(tmp_path, "v2")
    add = h.add_process
    init_and_kernel_threads(h)
    add(
        410,
        "sshd",
        ["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"],
        cgroup="/system.slice/sshd.service",
    )
    add(
        420,
        "systemd-timesyncd",
        ["/lib/systemd/systemd-timesyncd"],
        uid=997,
        cgroup="/system.slice/systemd-timesyncd.service",
        ns={"mnt": TIMESYNCD_MNT},
    )
    ssh_session(h)

    # Docker, systemd cgroup driver: a scope per container; the shim stays in containerd's service.
    docker_nginx(h, DOCKER_ID, "nginx")
    add(510, "containerd", ["/usr/bin/containerd"], cgroup="/system.slice/containerd.service")

    # A burstable pod (containerd CRI, systemd driver): pause + two containers sharing its net/ipc/uts.
    add(580, "kubelet", ["/usr/bin/kubelet"], cgroup="/system.slice/kubelet.service")
    add(
        590,
        "containerd-shim",
        ["/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", PAUSE_ID],
        cgroup="/system.slice/containerd.service",
    )
    add(
        600,
        "pause",
        ["/pause"],
        ppid=590,
        cgroup=f"{POD_CG}/cri-containerd-{PAUSE_ID}.scope",
        nspid=(600, 1),
        ns={**POD_NS, **private(3, "cgroup", "mnt", "pid")},
    )
    add(
        610,
        "app",
        ["/app", "--port=8080"],
        ppid=590,
        uid=1000,
        cgroup=f"{POD_CG}/cri-containerd-{APP_ID}.scope",
        nspid=(610, 1),
        ns={**POD_NS, **private(4, "cgroup", "mnt", "pid")},
    )
    add(
        620,
        "fluent-bit",
        ["/fluent-bit/bin/fluent-bit"],
        ppid=590,
        cgroup=f"{POD_CG}/cri-containerd-{SIDECAR_ID}.scope",
        nspid=(620, 1),
        ns={**POD_NS, **private(5, "cgroup", "mnt", "pid")},
    )
    for cid, name in ((PAUSE_ID, None), (APP_ID, "app"), (SIDECAR_ID, "log-shipper")):
        h.containerd_bundle(
            cid, namespace="default", pod="web-7d9f", pod_uid=POD_UID, sandbox_id=PAUSE_ID, container=name
        )

    # Podman (systemd driver, crun): conmon in a sibling scope; crun moves the payload to ".../container".
    podman_postgres(h, PODMAN_ID)

    # CRI-O, besteffort pod: conmon in its own scope beside the container's.
    add(790, "crio", ["/usr/bin/crio"], cgroup="/system.slice/crio.service")
    add(
        800, "conmon", ["/usr/bin/conmon", "-c", CRIO_ID], cgroup=f"{CRIO_POD_CG}/crio-conmon-{CRIO_ID}.scope"
    )
    add(
        810,
        "node_exporter",
        ["/bin/node_exporter"],
        ppid=800,
        uid=65534,
        cgroup=f"{CRIO_POD_CG}/crio-{CRIO_ID}.scope",
        nspid=(810, 1),
        ns=private(7),
    )
    h.crio_bundle(
        CRIO_ID, namespace="monitoring", pod="node-exporter-x2k", pod_uid=CRIO_POD_UID, container="exporter"
    )

    # LXC 4+: the monitor in lxc.monitor.<name>, the container (running systemd) in lxc.payload.<name>.
    add(900, "lxc-start", ["[lxc monitor] /var/lib/lxc web"], cgroup="/lxc.monitor.web")
    add(
        910,
        "systemd",
        ["/sbin/init"],
        ppid=900,
        cgroup="/lxc.payload.web/init.scope",
        nspid=(910, 1),
        ns=private(8),
        start_ticks=7000,
    )
    add(
        920,
        "cron",
        ["/usr/sbin/cron", "-f"],
        ppid=910,
        cgroup="/lxc.payload.web/system.slice/cron.service",
        nspid=(920, 80),
        ns=private(8),
    )

    # systemd-nspawn: the supervisor in the scope's "supervisor" child, the payload in "payload".
    add(1100, "systemd-nspawn", ["systemd-nspawn", "-bM", "my-box"], cgroup=f"{NSPAWN_CG}/supervisor")
    add(
        1110,
        "systemd",
        ["/usr/lib/systemd/systemd"],
        ppid=1100,
        cgroup=f"{NSPAWN_CG}/payload",
        nspid=(1110, 1),
        ns=private(9),
    )

    # `unshare --pid --fork --mount-proc sleep infinity` run from the session, root cgroup:
    # the unshare parent holds the new mount namespace, its child the new pid namespace too.
    unshare = ["unshare", "--pid", "--fork", "--mount-proc", "sleep", "infinity"]
    add(1200, "unshare", unshare, ppid=1010, ns={"mnt": UNSHARE_MNT})
    add(
        1201,
        "sleep",
        ["sleep", "infinity"],
        ppid=1200,
        nspid=(1201, 1),
        ns={"mnt": UNSHARE_MNT, "pid": UNSHARE_PID},
    )

    # A zombie whose comm holds spaces and parentheses (proc(5): comm runs to the last ")").
    add(1300, "evil) R 9 (x", ppid=1010, uid=1000, cgroup=SESSION, state="Z")
    return h


V1_DOCKER = hexid("v1-docker")


BESTEFFORT_ID, GUARANTEED_ID = hexid("v1-besteffort"), hexid("v1-guaranteed")


BE_UID, G_UID = "11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000"


def v1_host(tmp_path: Path) -> FakeHost:
    h = FakeHost(tmp_path, "v1")
    h.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup={"name=systemd": "/init.scope"})
    h.add_process(2, "kthreadd", ppid=0, kernel_thread=True)
    h.add_process(300, "dockerd", ["/usr/bin/dockerd"], cgroup="/system.slice/docker.service")
    # Docker's cgroupfs driver: /docker/<id> in every hierarchy; cgroup namespace shared (v1 default).
    h.add_process(
        400,
        "redis-server",
        ["redis-server *:6379"],
        cgroup=f"/docker/{V1_DOCKER}",
        nspid=(400, 1),
        ns=private(1, "ipc", "mnt", "net", "pid", "uts"),
    )
    h.docker_container(V1_DOCKER, "cache", 400)
    # kubelet's cgroupfs driver: QoS level directories, "pod<uid>", then the container id alone.
    h.add_process(
        500,
        "sleep",
        ["sleep", "3600"],
        cgroup=f"/kubepods/besteffort/pod{BE_UID}/{BESTEFFORT_ID}",
        nspid=(500, 1),
        ns=private(2),
    )
    h.add_process(
        510, "nginx", ["nginx"], cgroup=f"/kubepods/pod{G_UID}/{GUARANTEED_ID}", nspid=(510, 1), ns=private(3)
    )
    h.containerd_bundle(
        GUARANTEED_ID, namespace="prod", pod="front", pod_uid=G_UID, sandbox_id=hexid("gp"), container="nginx"
    )
    return h


HY_DOCKER = hexid("hybrid-docker")


def hybrid_host(tmp_path: Path) -> FakeHost:
    h = FakeHost(tmp_path, "hybrid")
    h.add_process(
        1, "systemd", ["/sbin/init"], ppid=0, cgroup={"name=systemd": "/init.scope", "unified": "/init.scope"}
    )
    h.add_process(2, "kthreadd", ppid=0, kernel_thread=True)
    # A process placed in one v1 hierarchy only (as a supervisor places its agents in memory).
    h.add_process(
        50, "agent", ["/opt/agent"], cgroup={"memory": "/process_api/44b44fef020b68810f1938a94c68706f"}
    )
    # Docker's systemd driver on a hybrid host: the same scope in every hierarchy.
    h.add_process(
        600,
        "node",
        ["node", "server.js"],
        cgroup=f"/system.slice/docker-{HY_DOCKER}.scope",
        nspid=(600, 1),
        ns=private(1, "ipc", "mnt", "net", "pid", "uts"),
    )
    h.docker_container(HY_DOCKER, "api", 600)
    return h


def oci_host(tmp_path: Path, mode: Mode = "hybrid", *, states: bool = True) -> FakeHost:
    """Containers in a cgroup no runtime pattern names ("/mygroup/..."), runc's and crun's state files."""
    h = FakeHost(tmp_path, mode)
    h.add_process(1, "systemd", ["/sbin/init"], ppid=0, cgroup={"name=systemd": "/init.scope"})
    h.add_process(2, "kthreadd", ppid=0, kernel_thread=True)
    ns = private(5)
    h.add_process(
        1400,
        "runc-init-sh",
        ["sh", "-c", "sleep 1d"],
        cgroup="/mygroup/demo",
        nspid=(1400, 1),
        ns=ns,
        start_ticks=21243,
    )
    h.add_process(1401, "sleep", ["sleep", "1d"], ppid=1400, cgroup="/mygroup/demo", nspid=(1401, 2), ns=ns)
    h.add_process(
        1500,
        "vim",
        ["vim", "notes.txt"],
        uid=1000,
        cgroup="/user.slice/user-1000.slice/session-2.scope",
        start_ticks=40000,
    )
    # crun's status names no id: the state directory does.
    h.add_process(
        1600,
        "httpd",
        ["httpd", "-f"],
        cgroup="/mygroup/crun-demo",
        nspid=(1600, 1),
        ns=private(6),
        start_ticks=24043,
    )
    if states:
        h.runc_state("demo", 1400, 21243, "/mygroup/demo")
        h.runc_state("stale", 1500, 30000, "/mygroup/stale")  # its init exited; pid 1500 is another's
        h.crun_status("crun-demo", 1600, 24043, "/mygroup/crun-demo")
    return h
