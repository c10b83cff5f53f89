"""The node profile of the bench load: what a Kubernetes node looks like to cgscope.

Under the load's own top cgroup (``cgscope-bench-<random>``, in every hierarchy the load uses):

- ``kubepods/{guaranteed,burstable,besteffort}/pod<uid>/<64-hex id>``: pods in turn of the three QoS
  classes (the kubelet's cgroupfs driver), each a pause container plus one or two app containers, every
  container in pid, mount, uts and ipc namespaces of its own. Guaranteed pods' containers get a CPU
  quota (0.5 CPU) and a memory limit (256 MiB), burstable pods' app containers a memory limit (512 MiB)
  and every other one a quota (1 CPU); best-effort ones none.
- ``bare/bNN``: 25 bare containers (``unshare --pid --fork``), 8 processes each.
- ``system.slice/svcN.service``: 10 service cgroups holding the rest of the processes.

200 pod containers at 2,000 processes, 250 at 10,000 and above (a node runs 110 pods by default).
"""

from __future__ import annotations

import secrets
import uuid

from load import Group, LoadError

BARE = 25
BARE_SIZE = 8
SERVICES = 10
PAUSE_SIZE = 3  # unshare, the container's init, one sleep
APP_SHARE = 0.4  # of the processes left after pause and bare containers
QOS = ("guaranteed", "burstable", "besteffort")
MIB = 1 << 20


def pod_containers(n: int) -> int:
    return 250 if n >= 10_000 else 200


def _limits(qos: str, app: int) -> tuple[int | None, int | None]:
    """(CFS quota µs per 100 ms, memory limit bytes) of a pod's app container `app` (1 or 2)."""
    if qos == "guaranteed":
        return 50_000, 256 * MIB
    if qos == "burstable":
        return (100_000 if app == 1 else None), 512 * MIB
    return None, None


def node_layout(n: int) -> list[Group]:
    """The groups of a node of `n` processes (see the module's doc)."""
    pods = round(pod_containers(n) / 2.5)
    apps_of = [1 + p % 2 for p in range(pods)]  # one or two apps in turn: 2.5 containers a pod
    rest = n - pods * PAUSE_SIZE - BARE * BARE_SIZE
    app_size = int(rest * APP_SHARE) // sum(apps_of)
    service_total = rest - sum(apps_of) * app_size
    if app_size < 3 or service_total < 2 * SERVICES:
        raise LoadError(f"the node profile needs more processes than {n}")
    groups: list[Group] = []

    def add(
        size: int, namespaced: bool, path: str, limits: tuple[int | None, int | None] = (None, None)
    ) -> None:
        quota, memory = limits
        groups.append(Group(len(groups), size, namespaced, path=path, quota_us=quota, memory_limit=memory))

    for p, apps in enumerate(apps_of):
        qos = QOS[p % 3]
        pod = f"/kubepods/{qos}/pod{uuid.uuid4()}"
        add(PAUSE_SIZE, True, f"{pod}/{secrets.token_hex(32)}")
        for app in range(1, apps + 1):
            add(app_size, True, f"{pod}/{secrets.token_hex(32)}", _limits(qos, app))
    for b in range(BARE):
        add(BARE_SIZE, True, f"/bare/b{b:02d}")
    base, extra = divmod(service_total, SERVICES)
    for s in range(SERVICES):
        add(base + (s < extra), False, f"/system.slice/svc{s}.service")
    return groups
