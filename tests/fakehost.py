"""Fake host roots for `cgscope --root DIR`: the kernel's files, written as the kernel writes them.

`FakeHost(tmp_path, mode)` lays out DIR/proc (stat with btime, sys/kernel, self/mountinfo), DIR/etc/passwd
and the cgroup hierarchies of the mode under DIR/sys/fs/cgroup; `add_process` adds DIR/proc/PID/{stat,
status,cmdline,cgroup,ns/*} and lists the pid in each hierarchy's cgroup.procs. The other methods write
the state files container runtimes keep on disk. Formats: proc(5), cgroup-v2.rst, cgroup-v1/cgroups.rst.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

Mode = Literal["v1", "v2", "hybrid"]

# The initial namespaces' inodes (include/linux/proc_ns.h; net and mnt as a 6.1 kernel numbers them).
HOST_NS: Mapping[str, int] = {
    "cgroup": 4026531835,
    "ipc": 4026531839,
    "mnt": 4026531841,
    "net": 4026531840,
    "pid": 4026531836,
    "time": 4026531834,
    "user": 4026531837,
    "uts": 4026531838,
}
# v1 hierarchies in hierarchy-id order (1, 2, ...), named as /proc/PID/cgroup names them.
V1_HIERARCHIES = ("name=systemd", "cpu,cpuacct", "memory", "pids")  # a systemd "legacy" host
# A hybrid host that mounts each controller alone (this project's test VM).
HYBRID_HIERARCHIES = (
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "name=systemd",
)
V2_CONTROLLERS = "cpuset cpu io memory hugetlb pids rdma misc"
V2_ENABLED = "cpuset cpu io memory pids"  # what systemd enables below the root and in slices

_RUNC_NS = ("CGROUP", "IPC", "NET", "NS", "PID", "USER", "UTS")  # libcontainer's names
_USER_FLAGS = 0x00400000  # PF_RANDOMIZE, as a user process shows
_KTHREAD_FLAGS = 0x00208040  # PF_KTHREAD | PF_NOFREEZE | PF_FORKNOEXEC, as kthreadd shows
_STATES = {
    "R": "running",
    "S": "sleeping",
    "D": "disk sleep",
    "T": "stopped",
    "t": "tracing stop",
    "X": "dead",
    "Z": "zombie",
    "P": "parked",
    "I": "idle",
}


@dataclass(frozen=True)
class Hierarchy:
    id: int  # hierarchy ID, the first field of /proc/PID/cgroup; 0 is cgroup2
    key: str  # "unified" for cgroup2, else the controller field: "memory", "cpu,cpuacct", "name=systemd"
    mountpoint: str  # absolute, as mountinfo shows it

    @property
    def version(self) -> int:
        return 2 if self.id == 0 else 1


def _escape(field: str) -> str:
    """mountinfo's octal escapes (fs/proc_namespace.c mangle: space, tab, newline, backslash)."""
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in field)


class FakeHost:
    """A host root in a temporary directory. Paths given to methods are host paths ("/run/runc")."""

    def __init__(
        self,
        tmp_path: Path,
        mode: Mode = "v2",
        *,
        hostname: str = "node1",
        kernel: str = "6.1.0-13-amd64",
        btime: int = 1764260000,
        mount_root: str = "/",
        v1: Sequence[str] | None = None,
    ) -> None:
        """`mount_root` is the cgroup each hierarchy's mount shows (mountinfo's 4th field): not "/" for
        a reader whose cgroup mounts are a container's bind mounts of its own cgroup."""
        self.root = tmp_path / "root"
        self.mode = mode
        self.btime = btime
        self.mount_root = mount_root
        self._denied: set[Path] = set()
        self._podman: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
        self.hierarchies: list[Hierarchy] = []
        if mode != "v2":
            names = v1 or (V1_HIERARCHIES if mode == "v1" else HYBRID_HIERARCHIES)
            for i, key in enumerate(names, 1):
                where = "systemd" if key == "name=systemd" else key
                self.hierarchies.append(Hierarchy(i, key, f"/sys/fs/cgroup/{where}"))
        if mode != "v1":
            where = "/sys/fs/cgroup" if mode == "v2" else "/sys/fs/cgroup/unified"
            self.hierarchies.append(Hierarchy(0, "unified", where))

        self.write("/proc/stat", f"cpu  0 0 0 0 0 0 0 0 0 0\nintr 0\nctxt 0\nbtime {btime}\nprocesses 1\n")
        self.write("/proc/sys/kernel/hostname", hostname + "\n")
        self.write("/proc/sys/kernel/osrelease", kernel + "\n")
        self.write(
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\n"
            "systemd-timesync:x:997:997:systemd Time Synchronization:/:/usr/sbin/nologin\n"
            "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n",
        )
        self.write("/proc/self/mountinfo", "".join(self._mountinfo()))
        for h in self.hierarchies:
            self.add_cgroup(mount_root, only=h.key)

    # -- files ------------------------------------------------------------------------------------

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    @property
    def proc(self) -> Path:
        return self.path("/proc")

    def write(self, absolute: str, text: str | bytes) -> Path:
        path = self.path(absolute)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    def add_mountinfo(self, line: str) -> None:
        """Append a raw mountinfo line (a second mount of a hierarchy, an escaped mountpoint)."""
        with self.path("/proc/self/mountinfo").open("a") as f:
            f.write(line.rstrip("\n") + "\n")

    def _mountinfo(self) -> list[str]:
        opts = "rw,nosuid,nodev,noexec,relatime"
        lines = [
            "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n",
            "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n",
            "24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n",
        ]
        if self.mode != "v2":  # systemd mounts the v1 hierarchies on a tmpfs
            lines.append(
                "25 24 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755\n"
            )
        for n, h in enumerate(sorted(self.hierarchies, key=lambda h: h.version != 2), 26):
            where = f"{n} {24 if self.mode == 'v2' else 25} 0:{n} {_escape(self.mount_root)} "
            where += f"{_escape(h.mountpoint)} {opts} shared:{n - 17} - "
            if h.version == 2:
                lines.append(where + "cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n")
            else:  # super options: rw, the controllers, then flags, then name= (cgroup1_show_options)
                controllers = [c for c in h.key.split(",") if not c.startswith("name=")]
                named = [c for c in h.key.split(",") if c.startswith("name=")]
                superopts = ",".join(["rw", *controllers, *(["xattr"] if named else []), *named])
                lines.append(where + f"cgroup cgroup {superopts}\n")
        return lines

    # -- cgroups ----------------------------------------------------------------------------------

    def hierarchy(self, key: str) -> Hierarchy:
        return next(h for h in self.hierarchies if h.key == key)

    def cgroup_dir(self, key: str, cgroup: str) -> Path | None:
        """The directory of `cgroup` in hierarchy `key`; None when outside the mounted subtree."""
        base = self.mount_root.rstrip("/")
        if cgroup != self.mount_root and not cgroup.startswith(base + "/"):
            return None
        rest = cgroup[len(base) :].strip("/")
        top = self.path(self.hierarchy(key).mountpoint)
        return top / rest if rest else top

    def add_cgroup(self, cgroup: str, *, only: str | None = None) -> None:
        """Create `cgroup` (and its parents) in every hierarchy, or only in hierarchy `only`."""
        for h in self.hierarchies:
            if only not in (None, h.key):
                continue
            directory = self.cgroup_dir(h.key, cgroup)
            if directory is None:
                continue
            top = self.path(h.mountpoint)
            chain = [directory, *[p for p in directory.parents if p == top or top in p.parents]]
            for d in reversed(chain):
                if d.is_dir():
                    continue
                d.mkdir(parents=True)
                (d / "cgroup.procs").write_text("")
                if h.version == 2:
                    self._v2_files(d, is_root=d == top)
                elif "freezer" in h.key.split(",") and d != top:
                    (d / "freezer.state").write_text("THAWED\n")

    def _v2_files(self, d: Path, *, is_root: bool) -> None:
        """cgroup.controllers lists what the parent enables; an empty list reads as "" (no newline)."""
        if is_root:
            # A hybrid host leaves cgroup2 without controllers: they are all bound to v1 hierarchies.
            available = V2_CONTROLLERS if self.mode == "v2" else ""
            enabled = V2_ENABLED if self.mode == "v2" else ""
        else:
            available = (d.parent / "cgroup.subtree_control").read_text().strip()
            enabled = available if d.name.endswith(".slice") else ""
        (d / "cgroup.controllers").write_text(available + "\n" if available else "")
        (d / "cgroup.subtree_control").write_text(enabled + "\n" if enabled else "")
        if not is_root:  # the root has no cgroup.events: it cannot be frozen
            (d / "cgroup.events").write_text("populated 0\nfrozen 0\n")

    # -- processes --------------------------------------------------------------------------------

    def add_process(
        self,
        pid: int,
        comm: str,
        cmdline: Sequence[str] = (),
        *,
        ppid: int = 1,
        uid: int = 0,
        cgroup: str | Mapping[str, str] = "/",
        nspid: Sequence[int] | None = None,
        ns: Mapping[str, int] | None = None,
        start_ticks: int = 1000,
        state: str = "S",
        kernel_thread: bool = False,
    ) -> None:
        """A process. `cgroup`: one path for every hierarchy, or paths by hierarchy key ("/" for the
        rest). `nspid`: its pid in each pid namespace, outermost (the host's) first. `ns`: inodes that
        differ from the host's."""
        if not kernel_thread:  # TASK_COMM_LEN - 1; a workqueue worker's name shows its queue in full
            comm = comm.encode()[:15].decode(errors="ignore")
        nspid = tuple(nspid or (pid,))
        namespaces = {**HOST_NS, **(ns or {})}
        d = self.path(f"/proc/{pid}")
        d.mkdir(parents=True)
        flags = _KTHREAD_FLAGS if kernel_thread else _USER_FLAGS
        vm = (0, 0) if kernel_thread else (9_000_000, 400)  # vsize bytes, rss pages
        fields = [
            state, ppid, pid, pid, 0, -1, flags,  # state ppid pgrp session tty_nr tpgid flags
            120, 0, 2, 0, 3, 1, 0, 0,  # minflt cminflt majflt cmajflt utime stime cutime cstime
            20, 0, 1, 0, start_ticks, *vm,  # priority nice num_threads itrealvalue starttime vsize rss
            18446744073709551615, *([0] * 27),  # rsslim ... exit_code (fields 25-52)
        ]  # fmt: skip
        (d / "stat").write_text(f"{pid} ({comm}) " + " ".join(map(str, fields)) + "\n")
        (d / "comm").write_text(comm + "\n")
        ids = "\t".join(map(str, nspid))
        status = [
            f"Name:\t{comm}",
            "Umask:\t0022",
            f"State:\t{state} ({_STATES[state]})",
            f"Tgid:\t{pid}",
            "Ngid:\t0",
            f"Pid:\t{pid}",
            f"PPid:\t{ppid}",
            "TracerPid:\t0",
            "Uid:" + f"\t{uid}" * 4,
            "Gid:" + f"\t{uid}" * 4,
            "FDSize:\t64",
            "Groups:\t ",  # the kernel leaves a trailing space
            f"NStgid:\t{ids}",
            f"NSpid:\t{ids}",
            f"NSpgid:\t{ids}",
            f"NSsid:\t{ids}",
            *([] if kernel_thread or state == "Z" else ["VmPeak:\t    8788 kB", "VmRSS:\t    1600 kB"]),
            "Threads:\t1",
            *(f"Cap{kind}:\t0000000000000000" for kind in ("Inh", "Prm", "Eff", "Bnd", "Amb")),
        ]
        (d / "status").write_text("\n".join(status) + "\n")
        argv = () if kernel_thread or state == "Z" else tuple(cmdline or (comm,))
        (d / "cmdline").write_bytes(b"".join(a.encode() + b"\0" for a in argv))
        (d / "ns").mkdir()
        links = {**namespaces, "pid_for_children": namespaces["pid"], "time_for_children": namespaces["time"]}
        if state == "Z":  # an exited task has dropped its nsproxy: only pid and user remain (ENOENT)
            links = {kind: links[kind] for kind in ("pid", "user")}
        for kind, inode in links.items():
            os.symlink(f"{kind.removesuffix('_for_children')}:[{inode}]", d / "ns" / kind)
        paths = {
            h.key: cgroup if isinstance(cgroup, str) else cgroup.get(h.key, "/") for h in self.hierarchies
        }
        (d / "cgroup").write_text(self._proc_cgroup(paths))
        for h in self.hierarchies:
            self.add_cgroup(paths[h.key], only=h.key)
            directory = self.cgroup_dir(h.key, paths[h.key])
            if directory is not None and state != "Z":  # cgroup.procs leaves zombies out
                with (directory / "cgroup.procs").open("a") as f:
                    f.write(f"{pid}\n")

    def _proc_cgroup(self, paths: Mapping[str, str]) -> str:
        """/proc/PID/cgroup: the kernel lists the newest hierarchy first, so cgroup2 ("0::") last."""
        lines = []
        for h in sorted(self.hierarchies, key=lambda h: -h.id if h.id else 1):
            lines.append(f"{h.id}:{'' if h.version == 2 else h.key}:{paths[h.key]}\n")
        return "".join(lines)

    def deny_ns(self, pid: int, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make /proc/PID/ns/* unreadable (EACCES), as /proc/1/ns is for a supervisor we may not ptrace.

        Mode 000 on the directory does it for an unprivileged reader; root bypasses modes, so there
        os.readlink is made to refuse the same links.
        """
        ns_dir = self.proc / str(pid) / "ns"
        ns_dir.chmod(0)
        self._denied.add(ns_dir)
        if os.geteuid() != 0 or len(self._denied) > 1:
            return
        real = os.readlink

        def readlink(path: Any, *args: Any, dir_fd: int | None = None, **kwargs: Any) -> Any:
            link = Path(os.fsdecode(path))
            if dir_fd is not None:  # a link read below an open directory (fs/piddir.py)
                link = Path(real(f"/proc/self/fd/{dir_fd}")) / link
            if link.parent in self._denied:
                raise PermissionError(13, "Permission denied", os.fsdecode(link))
            return real(path, *args, dir_fd=dir_fd, **kwargs)

        monkeypatch.setattr(os, "readlink", readlink)

    # -- runtime state files ----------------------------------------------------------------------

    def _json(self, absolute: str, data: Any, *, indent: int | None = None, newline: bool = False) -> None:
        text = json.dumps(data, indent=indent, separators=None if indent else (",", ":"))
        self.write(absolute, text + ("\n" if newline else ""))

    def docker_container(self, cid: str, name: str, pid: int) -> None:
        """/var/lib/docker/containers/<id>/config.v2.json (moby's Container; Go's json.Encoder)."""
        self._json(
            f"/var/lib/docker/containers/{cid}/config.v2.json",
            {
                "StreamConfig": {},
                "State": {
                    "Running": True,
                    "Paused": False,
                    "Pid": pid,
                    "ExitCode": 0,
                    "Error": "",
                    "StartedAt": "2025-11-27T16:00:01.512345678Z",
                    "FinishedAt": "0001-01-01T00:00:00Z",
                },
                "ID": cid,
                "Created": "2025-11-27T16:00:00.998877665Z",
                "Path": "nginx",
                "Args": ["-g", "daemon off;"],
                "Config": {"Hostname": cid[:12], "Image": "nginx:1.25", "Labels": {}},
                "Name": f"/{name}",
                "Driver": "overlay2",
            },
            newline=True,
        )

    def podman_container(self, cid: str, name: str, *, volatile: bool = False) -> None:
        """An entry of containers/storage's containers.json, or volatile-containers.json where
        `podman run --rm` records its containers (compact JSON, no trailing newline)."""
        meta = {"image-name": "docker.io/library/alpine:latest", "name": name, "created-at": 1764259000}
        self._podman[volatile].append(
            {
                "id": cid,
                "names": [name],
                "image": "a" * 64,
                "layer": "b" * 64,
                "metadata": json.dumps(meta),
                "created": "2025-11-27T16:00:00.123456789Z",
                "flags": {"MountLabel": "", "ProcessLabel": ""},
            }
        )
        filename = "volatile-containers.json" if volatile else "containers.json"
        self._json(f"/var/lib/containers/storage/overlay-containers/{filename}", self._podman[volatile])

    def runc_state(
        self, cid: str, pid: int, start_ticks: int, cgroup: str, *, root: str = "/run/runc"
    ) -> None:
        """runc's <root>/<id>/state.json (libcontainer State; compact, no trailing newline), created with
        the cgroupfs driver at `cgroup` in every hierarchy."""
        paths = {}
        for h in self.hierarchies:
            directory = self.path(h.mountpoint) / cgroup.lstrip("/")
            host_dir = "/" + directory.relative_to(self.root).as_posix()
            for controller in [""] if h.version == 2 else h.key.split(","):
                paths[controller] = host_dir
        self._json(
            f"{root}/{cid}/state.json",
            {
                "id": cid,
                "init_process_pid": pid,
                "init_process_start": start_ticks,
                "created": "2025-11-27T16:00:00.612963839Z",
                "config": {
                    "rootfs": f"/var/lib/{cid}/rootfs",
                    "hostname": cid,
                    "namespaces": [
                        {"type": f"NEW{t}", "path": ""} for t in ("PID", "NET", "IPC", "UTS", "NS")
                    ],
                    "cgroups": {
                        "path": cgroup,
                        "scope_prefix": "",
                        "memory": 0,
                        "pids_limit": 0,
                        "Systemd": False,
                        "Rootless": False,
                    },
                    "labels": [f"bundle=/var/lib/{cid}"],
                },
                "rootless": False,
                "cgroup_paths": paths,
                "namespace_paths": {
                    f"NEW{kind}": f"/proc/{pid}/ns/{link}"
                    for kind, link in zip(
                        _RUNC_NS, ("cgroup", "ipc", "net", "mnt", "pid", "user", "uts"), strict=True
                    )
                },
                "external_descriptors": ["/dev/null", "/dev/null", "/dev/null"],
                "intel_rdt_path": "",
            },
        )

    def crun_status(
        self, cid: str, pid: int, start_ticks: int, cgroup: str, *, root: str = "/run/crun"
    ) -> None:
        """crun's <root>/<id>/status: 4-space-indented JSON, no "id" key (the directory names it)."""
        self._json(
            f"{root}/{cid}/status",
            {
                "pid": pid,
                "process-start-time": start_ticks,
                "cgroup-path": cgroup,
                "scope": "",
                "rootfs": "rootfs",
                "systemd-cgroup": False,
                "bundle": f"/var/lib/{cid}",
                "created": "2025-11-27T16:00:00.613655Z",
                "owner": "root",
                "detached": True,
                "external_descriptors": '["/dev/null","/dev/null","/dev/null"]',
            },
            indent=4,
            newline=True,
        )

    def containerd_bundle(
        self, cid: str, *, namespace: str, pod: str, pod_uid: str, sandbox_id: str, container: str | None
    ) -> None:
        """The OCI bundle containerd's CRI plugin writes: a sandbox (pause) when `container` is None."""
        notes = {
            "io.kubernetes.cri.container-type": "sandbox" if container is None else "container",
            "io.kubernetes.cri.sandbox-id": sandbox_id,
            "io.kubernetes.cri.sandbox-name": pod,
            "io.kubernetes.cri.sandbox-namespace": namespace,
            "io.kubernetes.cri.sandbox-uid": pod_uid,
        }
        if container is not None:
            notes["io.kubernetes.cri.container-name"] = container
            notes["io.kubernetes.cri.image-name"] = "docker.io/library/busybox:latest"
        self._json(
            f"/run/containerd/io.containerd.runtime.v2.task/k8s.io/{cid}/config.json",
            {"ociVersion": "1.1.0", "root": {"path": "rootfs"}, "annotations": notes},
        )

    def crio_bundle(self, cid: str, *, namespace: str, pod: str, pod_uid: str, container: str) -> None:
        """CRI-O's userdata/config.json: kubelet's labels become annotations."""
        notes = {
            "io.kubernetes.container.name": container,
            "io.kubernetes.pod.name": pod,
            "io.kubernetes.pod.namespace": namespace,
            "io.kubernetes.pod.uid": pod_uid,
            "io.kubernetes.cri-o.ContainerType": "container",
        }
        self._json(
            f"/run/containers/storage/overlay-containers/{cid}/userdata/config.json",
            {"ociVersion": "1.0.2-dev", "root": {"path": "rootfs"}, "annotations": notes},
        )
