"""How complete a container's isolation is: namespaces own or shared with the host, the user namespace's id
maps, capabilities, seccomp, no_new_privs, the LSM label, a read-only rootfs and masked /proc paths; and
what one shared kernel cannot isolate, where it matters for this container."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace

from cgscope.errors import AccessDenied
from cgscope.fs import security
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounttable import Mount
from cgscope.fs.procfs import NS_TYPES
from cgscope.fs.security import IdMap, Security

# include/uapi/linux/capability.h: capability N is bit N of the Cap* masks of /proc/PID/status.
CAPABILITIES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)
ALL_CAPABILITIES = (1 << len(CAPABILITIES)) - 1
SECCOMP_MODES = {0: "disabled", 1: "strict", 2: "filter"}  # proc(5), the Seccomp field


def cap_names(mask: int) -> tuple[str, ...]:
    """The capabilities of a mask, by name; bits newer than this list as "CAP_<bit>"."""
    return tuple(
        CAPABILITIES[bit] if bit < len(CAPABILITIES) else f"CAP_{bit}"
        for bit in range(mask.bit_length())
        if mask >> bit & 1
    )


@dataclass(frozen=True, slots=True)
class NamespaceState:
    type: str
    inode: int | None
    host: int | None
    shared: bool | None  # None where either side cannot be read


@dataclass(frozen=True, slots=True)
class Lsm:
    name: str | None  # apparmor, selinux, smack; None when the label's form does not tell
    label: str


@dataclass(frozen=True, slots=True)
class Note:
    id: str  # stable, for scripts: "host-clock", "host-network", ...
    text: str


@dataclass(frozen=True)
class Isolation:
    namespaces: tuple[NamespaceState, ...]
    uid_map: IdMap | None
    gid_map: IdMap | None
    security: Security | None  # None where /proc/PID/status is unreadable
    lsm: Lsm | None
    lsm_known: bool  # False where the label could not be read (then lsm is None too)
    rootfs_readonly: bool | None
    masked_paths: tuple[str, ...]  # /proc and /sys paths hidden behind /dev/null or an empty tmpfs
    readonly_paths: tuple[str, ...]  # /proc and /sys paths remounted read-only
    notes: tuple[Note, ...]

    @property
    def root_outside(self) -> int | None:
        """The host uid of uid 0 inside, None where unmapped or unknown."""
        return map_id(self.uid_map, 0) if self.uid_map is not None else None

    def shared(self, ns_type: str) -> bool | None:
        return next(n.shared for n in self.namespaces if n.type == ns_type)


def map_id(id_map: IdMap, inside: int) -> int | None:
    """The id outside that `inside` maps to (user_namespaces(7)); None when unmapped."""
    for first_inside, first_outside, count in id_map:
        if first_inside <= inside < first_inside + count:
            return first_outside + inside - first_inside
    return None


def shared_types(namespaces: Mapping[str, int | None], host: Mapping[str, int | None]) -> tuple[str, ...]:
    """The types whose inode equals the host's: Container.shared_with_host, for a process of the host."""
    return tuple(t for t in NS_TYPES if namespaces.get(t) is not None and namespaces.get(t) == host.get(t))


def namespace_states(
    namespaces: Mapping[str, int | None], host: Mapping[str, int | None], shared_with_host: Sequence[str]
) -> tuple[NamespaceState, ...]:
    """The 8 types, each own or shared; `shared_with_host` is Container.shared_with_host."""
    out = []
    for t in NS_TYPES:
        inode, host_inode = namespaces.get(t), host.get(t)
        known = inode is not None and host_inode is not None
        out.append(NamespaceState(t, inode, host_inode, (t in shared_with_host) if known else None))
    return tuple(out)


def masked_and_readonly(mounts: Sequence[Mount]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Paths under /proc and /sys that the runtime masked (a bind mount of /dev/null over a file, an empty
    read-only tmpfs over a directory: runc's maskedPaths) or made read-only (a read-only bind of proc or
    sysfs over itself: readonlyPaths; a read-only /sys)."""
    parents = {m.parent_id for m in mounts}
    masked, readonly = [], []
    for m in mounts:
        point = m.mountpoint
        if not (point.startswith(("/proc/", "/sys/")) or point == "/sys"):
            continue
        null_device = m.root.endswith("/null") and m.fstype in ("tmpfs", "devtmpfs")
        empty_tmpfs = m.fstype == "tmpfs" and m.readonly and m.mount_id not in parents
        if null_device or empty_tmpfs:
            masked.append(point)
        elif m.fstype in ("proc", "sysfs") and m.readonly:
            readonly.append(point)
    return tuple(sorted(set(masked))), tuple(sorted(set(readonly)))


def build_isolation(
    states: tuple[NamespaceState, ...],
    *,
    sec: Security | None,
    id_maps: tuple[IdMap, IdMap] | None,
    lsm: Lsm | None,
    lsm_known: bool,
    mounts: Sequence[Mount] | None,
    root: Mount | None,
    sysrq: bool = True,
) -> Isolation:
    """`sysrq`: whether the kernel has /proc/sysrq-trigger."""
    masked, readonly = masked_and_readonly(mounts) if mounts is not None else ((), ())
    partial = Isolation(
        namespaces=states,
        uid_map=id_maps[0] if id_maps else None,
        gid_map=id_maps[1] if id_maps else None,
        security=sec,
        lsm=lsm,
        lsm_known=lsm_known,
        rootfs_readonly=root.readonly if root is not None else None,
        masked_paths=masked,
        readonly_paths=readonly,
        notes=(),
    )
    proc_mounted = mounts is not None and any(m.mountpoint == "/proc" and m.fstype == "proc" for m in mounts)
    return replace(partial, notes=notes_for(partial, sysrq=sysrq and proc_mounted))


def notes_for(i: Isolation, *, sysrq: bool) -> tuple[Note, ...]:
    """What this container's namespaces and privileges leave shared with the host, worth pointing out.

    Capabilities act on the host only when held in the host's user namespace: a capability held in a user
    namespace of the container's own covers only what that namespace owns (user_namespaces(7)).
    """
    sec = i.security
    caps = set(cap_names(sec.cap_effective)) if sec is not None and i.shared("user") is True else set()
    root = sec is not None and sec.euid == 0 and i.root_outside == 0
    trigger = "/proc/sysrq-trigger"
    found = [
        *_privilege_notes(caps, root, host_pid=i.shared("pid") is True),
        *_sharing_notes(i, caps),
    ]
    if sec is not None and sec.seccomp == 0:
        found.append(("no-seccomp", "no seccomp filter: every system call of the shared kernel is reachable"))
    if sysrq and root and trigger not in i.masked_paths + i.readonly_paths:
        found.append(("sysrq", f"{trigger} is writable: root in here can reboot or crash the host's kernel"))
    return tuple(Note(ident, text) for ident, text in found)


def _privilege_notes(caps: set[str], root: bool, *, host_pid: bool) -> list[tuple[str, str]]:
    """Root and the capabilities that reach the one kernel every container shares."""
    notes = []
    if root:
        notes.append(
            (
                "root-is-host-root",
                "root inside is root on the host (uid 0 maps to host uid 0): whatever gets out of the other "
                "namespaces acts as host root",
            )
        )
    if "CAP_SYS_TIME" in caps:
        notes.append(
            (
                "host-clock",
                "holds CAP_SYS_TIME in the host's user namespace: settimeofday() and clock_settime() set the "
                "host's clock. CLOCK_REALTIME is one for the whole kernel; a time namespace only offsets "
                "CLOCK_MONOTONIC and CLOCK_BOOTTIME (time_namespaces(7))",
            )
        )
    if "CAP_SYS_MODULE" in caps:
        notes.append(
            (
                "kernel-modules",
                "holds CAP_SYS_MODULE: it can load modules into the one kernel all containers share",
            )
        )
    if "CAP_SYS_ADMIN" in caps:
        notes.append(
            (
                "sys-admin",
                "holds CAP_SYS_ADMIN in the host's user namespace: it can mount, and reconfigure much of the "
                "shared kernel; treat it as host root",
            )
        )
    if "CAP_SYSLOG" in caps:
        notes.append(
            ("kernel-log", "holds CAP_SYSLOG: it can read and clear the kernel log, which is not namespaced")
        )
    if "CAP_SYS_BOOT" in caps and host_pid:
        notes.append(
            (
                "host-reboot",
                "holds CAP_SYS_BOOT in the host's pid namespace: reboot() restarts the host (in a pid "
                "namespace of its own it would only end the container, pid_namespaces(7))",
            )
        )
    return notes


def _sharing_notes(i: Isolation, caps: set[str]) -> list[tuple[str, str]]:
    """The host's namespaces the container is in, and what each lets it do there."""
    notes = []
    if i.shared("pid") is True:
        notes.append(
            (
                "host-pid",
                "shares the host's pid namespace: it sees every host process and can signal those its "
                "credentials allow",
            )
        )
    if i.shared("net") is True:
        extra = "; with CAP_NET_ADMIN it can reconfigure them" if "CAP_NET_ADMIN" in caps else ""
        notes.append(
            (
                "host-network",
                f"shares the host's network stack: it binds host ports and sees host interfaces{extra}",
            )
        )
    if i.shared("ipc") is True:
        notes.append(("host-ipc", "shares System V IPC objects and POSIX message queues with the host"))
    if i.shared("uts") is True and "CAP_SYS_ADMIN" in caps:
        notes.append(
            (
                "host-hostname",
                "shares the host's UTS namespace with CAP_SYS_ADMIN: sethostname() renames the host",
            )
        )
    if i.shared("mnt") is True:
        notes.append(
            ("host-mounts", "shares the host's mount namespace: it sees the host's filesystems and mounts")
        )
    return notes


def read_isolation(
    host: HostRoot,
    pid: int,
    states: tuple[NamespaceState, ...],
    *,
    mounts: Sequence[Mount] | None,
    root: Mount | None,
) -> Isolation:
    """Read what the isolation map needs of process `pid` (the container's init); what the kernel refuses
    to show is unknown (None)."""
    sec = id_maps = None
    lsm: Lsm | None = None
    lsm_known = False
    with suppress(AccessDenied):
        sec = security.read_security(host.proc, pid)
    with suppress(AccessDenied):
        id_maps = security.read_id_maps(host.proc, pid)
    with suppress(AccessDenied):
        found = security.read_lsm_label(host.proc, pid)
        lsm, lsm_known = (Lsm(*found) if found else None), True
    sysrq = security.has_sysrq_trigger(host.proc)
    return build_isolation(
        states, sec=sec, id_maps=id_maps, lsm=lsm, lsm_known=lsm_known, mounts=mounts, root=root, sysrq=sysrq
    )
