"""cgscope against a real containerd (the containerd lane, .ci/runtimes.sh), checked against `ctr`'s own
answers: a container in containerd's default cgroup, and a pod laid out as kubelet's cgroupfs driver lays
one out, with the CRI annotations containerd's CRI plugin writes."""

from __future__ import annotations

import os
import secrets
import uuid
from typing import Any

from .runtimes import Ctr, cgroup_parent, cgscope_json, hex_id


def entry(pid: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = [r for r in cgscope_json("containers")["containers"] if r["init_pid"] == pid]
    assert len(rows) == 1, rows
    return rows[0]


def test_a_container_in_containerds_default_cgroup(ctr: Ctr) -> None:
    """`ctr run` with no --cgroup: cgroup /<namespace>/<id>, runc state under containerd's shim root."""
    ident = f"cgscope-test-{secrets.token_hex(4)}"
    with ctr.run(ident) as pid:
        row = entry(pid)
        assert (row["runtime"], row["id"], row["name"]) == ("containerd", ident, ident)
        assert set(row["cgroup"].values()) == {f"/{ctr.namespace}/{ident}"}
        assert os.path.isdir(f"/run/containerd/runc/{ctr.namespace}/{ident}")
        assert {p["pid"] for p in cgscope_json("ps", ident)["processes"]} == {pid}


def test_a_pod_in_kubelets_cgroupfs_layout(ctr: Ctr) -> None:
    """A sandbox and an app container that joins its net, ipc and uts namespaces, in
    <root>/kubepods/besteffort/pod<uid>/<id>, annotated as containerd's CRI plugin annotates them."""
    pod_uid = str(uuid.uuid4())
    sandbox_id, app_id = hex_id(), hex_id()
    cri = {
        "io.kubernetes.cri.sandbox-name": "web",
        "io.kubernetes.cri.sandbox-namespace": "cgscope-test",
        "io.kubernetes.cri.sandbox-uid": pod_uid,
        "io.kubernetes.cri.sandbox-id": sandbox_id,
    }

    def options(cgroup: str, kind: str, **more: str) -> list[str]:
        notes = {**cri, "io.kubernetes.cri.container-type": kind, **more}
        return ["--cgroup", cgroup, *(f"--annotation={k}={v}" for k, v in notes.items())]

    with cgroup_parent() as root:
        pod = f"{root}/kubepods/besteffort/pod{pod_uid}"
        with ctr.run(sandbox_id, *options(f"{pod}/{sandbox_id}", "sandbox")) as sandbox:
            joins = [
                f"--with-ns={t}:/proc/{sandbox}/ns/{f}"
                for t, f in (("network", "net"), ("ipc", "ipc"), ("uts", "uts"))
            ]
            app_options = options(
                f"{pod}/{app_id}", "container", **{"io.kubernetes.cri.container-name": "app"}
            )
            with ctr.run(app_id, *app_options, *joins) as app:
                pause, main = entry(sandbox), entry(app)
    for row, ident, name in (
        (pause, sandbox_id, "cgscope-test/web/(pause)"),
        (main, app_id, "cgscope-test/web/app"),
    ):
        assert (row["runtime"], row["id"], row["name"]) == ("containerd", ident, name)
        assert row["kubernetes"] == {
            "pod_uid": pod_uid,
            "qos": "besteffort",
            "namespace": "cgscope-test",
            "pod": "web",
        }
        assert set(row["cgroup"].values()) == {f"{pod}/{ident}"}
    for kind in ("net", "ipc", "uts"):
        assert main["namespaces"][kind] == pause["namespaces"][kind]
    assert main["namespaces"]["pid"] != pause["namespaces"]["pid"]
