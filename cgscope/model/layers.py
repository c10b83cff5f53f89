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

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from cgscope.errors import AccessDenied, CgscopeError, ProcessGone
from cgscope.fs import layerdirs, layertree, overlay
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.layerdirs import LayerDir, Refused
from cgscope.fs.layertree import TooLarge
from cgscope.fs.mounttable import Mount, read_mount_table, root_link
from cgscope.fs.security import IdMap, read_id_maps

FILE_MOUNTS = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")


@dataclass(frozen=True, slots=True)
class Layer:
    role: str  # "container" (the writable layer), "init" (Docker's -init layer), "image", "data"
    path: str  # as the mount names it, a host path
    resolved: str | None  # where it leads when that differs (Docker's and Podman's l/<short> links)
    size: int | None  # apparent bytes of its files (hard links once); None when unreadable
    files: int | None
    problem: str | None = None  # why cgscope does not read it (a refusal), or not all of it (a bound)


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


def union_dirs(host: HostRoot, mount: Mount) -> tuple[list[tuple[str, str]], str | None]:
    """(role, path) of each layer of an overlay or AuFS mount, top first, and the overlay's workdir."""
    if mount.fstype == "overlay":
        dirs = overlay.overlay_dirs(mount.super_options)
        layers = [("container", dirs.upper)] if dirs.upper else []
        layers += [("image", p) for p in dirs.lower] + [("data", p) for p in dirs.data]
        return layers, dirs.work
    si = mount.option("si")
    if mount.fstype != "aufs" or not si:
        return [], None
    try:
        branches = overlay.host_aufs_branches(host, si)
    except (AccessDenied, ProcessGone):
        return [], None
    return [("container" if perm.startswith("rw") else "image", path) for path, perm in branches], None


def union_format(rootfs: RootFs) -> overlay.UnionFormat:
    return overlay.Aufs() if rootfs.driver == "aufs" else overlay.Overlay(rootfs.userxattr)


@dataclass
class OpenRootFs:
    """A rootfs with its layer directories open, each checked (docs/inspect.md, "How layers are opened"):
    `dirs[i]` is the directory of `rootfs.layers[i]`, None where cgscope does not read it (the layer's
    `problem` says why). close() closes them."""

    rootfs: RootFs
    dirs: list[LayerDir | None]

    def close(self) -> None:
        for d in self.dirs:
            if d is not None:
                d.close()
        self.dirs = [None] * len(self.dirs)

    def directory(self, index: int) -> LayerDir:
        """The open directory of layer `index`; its problem raised where it has none."""
        found = self.dirs[index]
        if found is None:
            layer = self.rootfs.layers[index]
            raise CgscopeError(layer.problem or f"{layer.role} layer {layer.path}: not read")
        return found


def mapped(id_map: IdMap, uid: int) -> bool:
    """Whether host uid `uid` is one a user namespace with this uid_map maps (user_namespaces(7))."""
    return any(outside <= uid < outside + count for _, outside, count in id_map)


def root_made(mount: Mount, host_mounts: Sequence[Mount]) -> bool:
    """Whether root made the mount, so its layer paths are root's: only root mounts in the host's mount
    namespace (the mount's filesystem is listed there too), and AuFS mounts need root anywhere. Any other
    overlay was made in a mount namespace of its own, maybe by a user in a user namespace of their own,
    who chose its paths freely (they name directories as that namespace sees them)."""
    return mount.fstype == "aufs" or any(m.fstype == mount.fstype and m.dev == mount.dev for m in host_mounts)


class _Checks:
    """What a layer directory must be, for one mount (docs/inspect.md, "How layers are opened"): the top
    layer, the one an overlay's root shows; and where root did not make the mount, a directory owned by a
    uid the container's user namespace maps (so, its own), never one of root's or of another user's."""

    def __init__(self, host: HostRoot, pid: int, mount: Mount, host_mounts: Sequence[Mount]) -> None:
        self.owners: IdMap | None = None
        self.check_owner = not root_made(mount, host_mounts)
        if self.check_owner:
            with suppress(CgscopeError):
                self.owners = read_id_maps(host.proc, pid)[0]
        self.root: LayerDir | None = None
        if mount.fstype == "overlay" and mount.root == "/":
            self.root = layerdirs.mounted_root(host.proc, pid, mount.dev)

    def owner_problem(self, found: LayerDir) -> str | None:
        uid = found.st.st_uid
        if self.check_owner and self.owners is None:
            return "its mount is not the host's, and whose it is cannot be told (uid_map unreadable)"
        if self.check_owner and self.owners is not None and not mapped(self.owners, uid):
            return f"owned by uid {uid}, which the user namespace of the mount's container does not map"
        return None

    def mount_problems(self, dirs: Sequence[LayerDir | None]) -> tuple[str | None, str | None]:
        """(why the top layer, why every layer) is not what the overlay mounted, by what its root shows:
        `dirs` are the layers opened, top first (None: refused already)."""
        top = dirs[0] if dirs else None
        if self.root is None or top is None:
            return None, None
        if not layerdirs.shows(self.root, top):
            return "not the directory this overlay mounted (the overlay's root shows another)", None
        if None not in dirs and not layerdirs.inode_agrees(self.root, [d for d in dirs if d is not None]):
            return (
                None,
                "not one of the directories this overlay mounted (its root's inode is none of theirs)",
            )
        return None, None

    def close(self) -> None:
        if self.root is not None:
            self.root.close()


@dataclass
class _Opening:
    """One layer being opened: its directory until it is refused, and the line saying why it was."""

    role: str
    path: str
    dir: LayerDir | None = None
    resolved: str | None = None
    problem: str | None = None

    def close(self) -> None:
        if self.dir is not None:
            self.dir.close()
            self.dir = None

    def refuse(self, why: str) -> None:
        self.close()
        if self.problem is None:
            self.problem = f"{self.role} layer {self.path}: not read: {why}"


def _open_layers(
    host: HostRoot, pid: int, mount: Mount, paths: Sequence[tuple[str, str]], host_mounts: Sequence[Mount]
) -> list[_Opening]:
    """Each layer opened by fs/layerdirs.py's rules and checked; closed again where it is refused."""
    checks = _Checks(host, pid, mount, host_mounts)
    layers = [_Opening(role, path) for role, path in paths]
    try:
        for layer in layers:
            try:
                layer.dir = layerdirs.open_layer(host.root, layer.path)
            except Refused as exc:
                layer.refuse(str(exc))
                continue
            except CgscopeError as exc:  # unreadable or missing: the error names the path
                layer.problem = str(exc)
                continue
            layer.resolved = layer.dir.resolved
            why = checks.owner_problem(layer.dir)
            if why is not None:
                layer.refuse(why)
        top, every = checks.mount_problems([layer.dir for layer in layers])
    except BaseException:
        for layer in layers:
            layer.close()
        raise
    finally:
        checks.close()
    for layer in layers:
        if every is not None:
            layer.refuse(every)
    if top is not None:
        layers[0].refuse(top)
    return layers


def _measure(d: LayerDir | None, role: str, path: str) -> tuple[int | None, int | None, str | None]:
    """(bytes, files, problem) of the layer: what `docker ps --size` counts, or why it is not counted."""
    if d is None:
        return None, None, None
    try:
        size, files = layertree.tree_size(d.fd)
    except TooLarge as exc:
        return None, None, f"{role} layer {path}: {exc}: not counted"
    except (AccessDenied, ProcessGone) as exc:
        return None, None, f"{role} layer {path}: {exc}"
    return size, files, None


@contextmanager
def open_rootfs(
    host: HostRoot, pid: int, mounts: Sequence[Mount] | None, dev: tuple[int, int] | None, sizes: bool = True
) -> Iterator[OpenRootFs]:
    """The rootfs of process `pid` from its mount table (`mounts`, None when unreadable), its layer
    directories open until the block ends."""
    link = None
    with suppress(AccessDenied):
        link = root_link(host.proc, pid)
    mount = root_mount(mounts, dev) if mounts is not None else None
    driver = mount.fstype if mount is not None and mount.fstype in ("overlay", "aufs") else None
    host_mounts: list[Mount] = []
    with suppress(AccessDenied, ProcessGone):
        host_mounts = read_mount_table(host.proc, "self")
    paths, workdir = union_dirs(host, mount) if mount is not None and driver is not None else ([], None)
    opened = _open_layers(host, pid, mount, paths, host_mounts) if mount is not None else []
    try:
        layers = []
        for layer in opened:
            role = layer_role(layer.path, layer.resolved) if layer.role == "image" else layer.role
            size, files, size_problem = _measure(layer.dir if sizes else None, role, layer.path)
            layers.append(Layer(role, layer.path, layer.resolved, size, files, layer.problem or size_problem))
        rootfs = RootFs(
            pid=pid,
            root_link=link,
            mount=mount,
            driver=driver,
            layers=tuple(layers),
            workdir=workdir,
            userxattr=mount is not None and mount.option("userxattr") is not None,
            file_mounts=file_mounts(mounts or (), host_mounts),
        )
        found = OpenRootFs(rootfs, [layer.dir for layer in opened])
    except BaseException:
        for layer in opened:
            layer.close()
        raise
    try:
        yield found
    finally:
        found.close()


def read_rootfs(
    host: HostRoot, pid: int, mounts: Sequence[Mount] | None, dev: tuple[int, int] | None, sizes: bool = True
) -> RootFs:
    """The rootfs of process `pid` from its mount table (`mounts`, None when unreadable)."""
    with open_rootfs(host, pid, mounts, dev, sizes) as found:
        return found.rootfs
