"""What the systemd hosts of the scenarios share: init and the kernel threads, a login session, a Docker
nginx (systemd cgroup driver: a scope per container, the shim in containerd's service) and a Podman
postgres (conmon in a sibling scope; crun moves the payload to ".../container")."""

from __future__ import annotations

from fakehost import FakeHost
from helpers import private

SESSION = "/user.slice/user-1000.slice/session-1.scope"


def init_and_kernel_threads(h: FakeHost) -> None:
    add = h.add_process
    add(1, "systemd", ["/sbin/init"], ppid=0, cgroup="/init.scope", start_ticks=12)
    add(2, "kthreadd", ppid=0, kernel_thread=True, start_ticks=12)
    add(3, "kworker/0:0H-events_highpri", ppid=2, kernel_thread=True, state="I", start_ticks=13)


def ssh_session(h: FakeHost) -> None:
    """alice's login below sshd (pid 410): sshd 1000, bash 1010."""
    h.add_process(1000, "sshd", ["sshd: alice [priv]"], ppid=410, cgroup=SESSION)
    h.add_process(1010, "bash", ["-bash"], ppid=1000, uid=1000, cgroup=SESSION)


def docker_nginx(h: FakeHost, cid: str, name: str) -> None:
    """dockerd 500, the shim 520, and container `cid` named `name`: nginx 530 (its pid 1) and a worker 531,
    in the namespaces of private(2)."""
    add = h.add_process
    cgroup = f"/system.slice/docker-{cid}.scope"
    add(500, "dockerd", ["/usr/bin/dockerd", "-H", "fd://"], cgroup="/system.slice/docker.service")
    add(
        520,
        "containerd-shim",
        ["/usr/bin/containerd-shim-runc-v2", "-namespace", "moby", "-id", cid],
        cgroup="/system.slice/containerd.service",
    )
    add(530, "nginx", ["nginx: master process nginx -g daemon off;"], ppid=520, cgroup=cgroup,
        nspid=(530, 1), ns=private(2), start_ticks=5000)  # fmt: skip
    add(531, "nginx", ["nginx: worker process"], ppid=530, uid=101, cgroup=cgroup,
        nspid=(531, 29), ns=private(2), start_ticks=5010)  # fmt: skip
    h.docker_container(cid, name, 530)


def podman_postgres(h: FakeHost, cid: str) -> None:
    """conmon 700 and container `cid` named "db": postgres 710 (its pid 1), in the namespaces of
    private(6)."""
    scope = f"/machine.slice/libpod-{cid}.scope"
    h.add_process(
        700, "conmon", ["/usr/bin/conmon", "--cid", cid], cgroup=f"/machine.slice/libpod-conmon-{cid}.scope"
    )
    h.add_process(710, "postgres", ["postgres"], ppid=700, uid=999, cgroup=f"{scope}/container",
                  nspid=(710, 1), ns=private(6), start_ticks=6000)  # fmt: skip
    h.podman_container(cid, "db")
