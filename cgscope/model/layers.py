"""Where a container stands: its root (/proc/PID/root), the mount under it and, for a union filesystem, the
layers it is built from (top first), with the per-container files bind-mounted over /etc/hosts,
/etc/hostname and /etc/resolv.conf.

Runtimes name their layers in their own ways; the mount options say it all:
- Docker overlay2: lowerdir=/var/lib/docker/overlay2/l/<short>:... (symlinks to ../<id>/diff), the top one
  being the container's "<id>-init" layer (empty /etc/hosts, /etc/hostname, /etc/resolv.conf, /dev/...),
  upperdir=/var/lib/docker/overlay2/<id>/diff.
- containerd's overlayfs snapshotter: .../io.containerd.snapshotter.v1.overlayfs/snapshots/<n>/fs.
- Podman (containers/storage): .../overlay/l/<short> and .../overlay/<id>/diff, often with userxattr.
- Docker's old aufs driver: branches /var/lib/docker/aufs/diff/<id> (rw), <id>-init and the image's (ro).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs import overlay
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounttable import Mount, read_mount_table, root_link

FILE_MOUNTS = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")
_SYS_AUFS = "/sys/fs/aufs"


@dataclass(frozen=True, slots=True)
class Layer:
    role: str  # "container" (the writable layer), "init" (Docker's -init layer), "image", "data"
    path: str  # as the mount names it, a host path
    resolved: str | None  # where it leads when that differs (Docker's and Podman's l/<short> links)
    size: int | None  # apparent bytes of its files (hard links once); None when unreadable
    files: int | None


@dataclass(frozen=True, slots=True)
class FileMount:
    """A file bind-mounted into the container (the "init layer" idea made per container)."""

    target: str  # /etc/hosts
    source: str | None  # the host path of the file, where a host mount shows its filesystem
    fs_path: str  # the file's path inside its filesystem (mountinfo's root field)
    fstype: str
    readonly: bool


@dataclass(frozen=True)
class RootFs:
    pid: int
    root_link: str | None  # where /proc/PID/root points for us
    mount: Mount | None  # the mount at the process's "/"; None where its mount table is unreadable
    driver: str | None  # "overlay", "aufs", or None for anything else
    layers: tuple[Layer, ...]  # top first: the container layer (if any), then the lower ones
    workdir: str | None
    userxattr: bool  # overlay whiteout xattrs are user.overlay.* (rootless)
    file_mounts: tuple[FileMount, ...]

    @property
    def upper(self) -> Layer | None:
        return next((layer for layer in self.layers if layer.role == "container"), None)

    @property
    def lower(self) -> tuple[Layer, ...]:
        return tuple(layer for layer in self.layers if layer.role in ("init", "image"))


def root_mount(mounts: Sequence[Mount], dev: tuple[int, int] | None) -> Mount | None:
    """The mount the process stands on: the last mounted at "/" (mounts stack), the one of its root's
    device when known. None when its root lies inside a mount it cannot see (a chroot into a subdirectory)."""
    at_root = [m for m in mounts if m.mountpoint == "/"]
    matching = [m for m in at_root if m.dev == dev] if dev is not None else []
    found = matching or at_root
    return found[-1] if found else None


def host_path(mount: Mount, host_mounts: Sequence[Mount]) -> str | None:
    """Where the host sees what `mount` shows: a host mount of the same filesystem whose root holds it."""
    best: Mount | None = None
    for m in host_mounts:
        if m.dev != mount.dev or not _under(mount.root, m.root):
            continue
        if best is None or len(m.root) > len(best.root):
            best = m
    if best is None:
        return None
    rest = mount.root[len(best.root.rstrip("/")) :]
    return best.mountpoint.rstrip("/") + rest if rest else best.mountpoint


def _under(path: str, top: str) -> bool:
    return top in ("/", path) or path.startswith(top.rstrip("/") + "/")


def file_mounts(mounts: Sequence[Mount], host_mounts: Sequence[Mount]) -> tuple[FileMount, ...]:
    found = {m.mountpoint: m for m in mounts if m.mountpoint in FILE_MOUNTS}  # the last mount wins
    return tuple(
        FileMount(target, host_path(m, host_mounts), m.root, m.fstype, m.readonly)
        for target in FILE_MOUNTS
        if (m := found.get(target)) is not None
    )


def layer_role(path: str, resolved: str | None) -> str:
    """ "init" for Docker's per-container init layer (overlay2 <id>-init/diff, aufs diff/<id>-init)."""
    name = (resolved or path).rstrip("/")
    return "init" if name.endswith(("-init/diff", "-init")) else "image"


def _layer(host: HostRoot, role: str, path: str, sizes: bool) -> Layer:
    where = host.path(path)
    resolved = None
    real = Path(os.path.realpath(where))
    if real != where and (real == host.root or host.root in real.parents):
        resolved = host.shown(real)
    if role == "image":
        role = layer_role(path, resolved)
    size = files = None
    if sizes:
        with suppress(AccessDenied, ProcessGone):
            size, files = overlay.tree_size(where)
    return Layer(role, path, resolved, size, files)


def union_layers(host: HostRoot, mount: Mount, sizes: bool = True) -> tuple[tuple[Layer, ...], str | None]:
    """The layers of an overlay or AuFS mount, top first, and the overlay's workdir."""
    if mount.fstype == "overlay":
        dirs = overlay.overlay_dirs(mount.super_options)
        layers = [_layer(host, "container", dirs.upper, sizes)] if dirs.upper else []
        layers += [_layer(host, "image", p, sizes) for p in dirs.lower]
        layers += [_layer(host, "data", p, sizes) for p in dirs.data]
        return tuple(layers), dirs.work
    si = mount.option("si")
    if mount.fstype != "aufs" or not si:
        return (), None
    try:
        branches = overlay.aufs_branches(host.path(_SYS_AUFS), si)
    except (AccessDenied, ProcessGone):
        return (), None
    return tuple(
        _layer(host, "container" if perm.startswith("rw") else "image", path, sizes)
        for path, perm in branches
    ), None


def union_format(rootfs: RootFs) -> overlay.UnionFormat:
    return overlay.Aufs() if rootfs.driver == "aufs" else overlay.Overlay(rootfs.userxattr)


def read_rootfs(
    host: HostRoot, pid: int, mounts: Sequence[Mount] | None, dev: tuple[int, int] | None, sizes: bool = True
) -> RootFs:
    """The rootfs of process `pid` from its mount table (`mounts`, None when unreadable)."""
    link = None
    with suppress(AccessDenied):
        link = root_link(host.proc, pid)
    mount = root_mount(mounts, dev) if mounts is not None else None
    layers: tuple[Layer, ...] = ()
    workdir = None
    driver = mount.fstype if mount is not None and mount.fstype in ("overlay", "aufs") else None
    if mount is not None and driver is not None:
        layers, workdir = union_layers(host, mount, sizes)
    host_mounts: list[Mount] = []
    with suppress(AccessDenied, ProcessGone):
        host_mounts = read_mount_table(host.proc, "self")
    return RootFs(
        pid=pid,
        root_link=link,
        mount=mount,
        driver=driver,
        layers=layers,
        workdir=workdir,
        userxattr=mount is not None and mount.option("userxattr") is not None,
        file_mounts=file_mounts(mounts or (), host_mounts),
    )
