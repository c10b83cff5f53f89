"""A process's privileges as proc(5) shows them: capabilities, seccomp, no_new_privs, its LSM label and the
id maps of its user namespace."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import AccessDenied, InvalidFormat, ProcessGone
from cgscope.fs.files import DENIED_ERRNOS, StrPath, decode, read_text
from cgscope.fs.parse import integer
from cgscope.fs.status import Status, read_status

IdMap = tuple[tuple[int, int, int], ...]  # (first id inside, first id outside, count) per line


@dataclass(frozen=True, slots=True)
class Security:
    """The privilege fields of /proc/PID/status (fs/status.py). None: the kernel is too old to show the
    field."""

    euid: int
    cap_effective: int  # bit N is capability N (linux/capability.h)
    cap_permitted: int
    cap_bounding: int
    cap_ambient: int | None  # Linux >= 4.3
    no_new_privs: bool | None  # Linux >= 4.10
    seccomp: int | None  # 0 disabled, 1 strict, 2 filter; None without CONFIG_SECCOMP
    seccomp_filters: int | None  # Linux >= 5.9


def security_of(status: Status) -> Security:
    return Security(
        euid=status.euid,
        cap_effective=status.cap("Eff"),
        cap_permitted=status.cap("Prm"),
        cap_bounding=status.cap("Bnd"),
        cap_ambient=status.cap_ambient,
        no_new_privs=status.no_new_privs,
        seccomp=status.seccomp,
        seccomp_filters=status.seccomp_filters,
    )


def read_security(proc: Path, pid: int) -> Security:
    return security_of(read_status(proc, pid))


def parse_id_map(text: str, path: StrPath) -> IdMap:
    """uid_map / gid_map (user_namespaces(7)): "inside outside count" per line, outside ids as the
    reader's user namespace sees them."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 3:
            raise InvalidFormat(path, line)
        inside, outside, count = (integer(f, path, line) for f in fields)
        out.append((inside, outside, count))
    return tuple(out)


def read_id_maps(proc: Path, pid: int) -> tuple[IdMap, IdMap]:
    """(uid map, gid map) of the process's user namespace."""
    maps = []
    for name in ("uid_map", "gid_map"):
        path = proc / str(pid) / name
        maps.append(parse_id_map(read_text(path), path))
    return maps[0], maps[1]


# Where each LSM shows a task's label. Since Linux 5.8 AppArmor and Smack also have a directory of their
# own under attr/, so a stacked LSM's label is not hidden behind another's attr/current.
_LSM_FILES = (("apparmor", "attr/apparmor/current"), ("smack", "attr/smack/current"), (None, "attr/current"))
# attr/current answers EINVAL when no LSM provides it; the per-LSM files are absent (ENOENT) on kernels
# or configurations without that LSM.
_NO_LABEL = frozenset({errno.EINVAL, errno.ENOENT, errno.EOPNOTSUPP})


def read_lsm_label(proc: Path, pid: int) -> tuple[str | None, str] | None:
    """(LSM name, label) of the task, None when no LSM labels it. The name is None when only attr/current
    answered and the label's form does not tell the LSM."""
    if not (proc / str(pid)).is_dir():
        raise ProcessGone(f"{proc}/{pid}: gone while reading")
    for lsm, name in _LSM_FILES:
        path = proc / str(pid) / name
        try:
            data = path.read_bytes()
        except OSError as exc:
            if exc.errno in _NO_LABEL:
                continue
            if exc.errno in DENIED_ERRNOS:
                raise AccessDenied(f"{path}: permission denied") from None
            raise
        label = decode(data.rstrip(b"\0\n"))
        if label:
            return lsm or _guess_lsm(label), label
    return None


def _guess_lsm(label: str) -> str | None:
    """AppArmor labels read "profile (mode)" or "unconfined"; SELinux contexts "user:role:type[:level]"."""
    if label == "unconfined" or (label.endswith(")") and " (" in label):
        return "apparmor"
    if label.count(":") >= 2:
        return "selinux"
    return None


def has_sysrq_trigger(proc: Path) -> bool:
    """Whether the kernel offers /proc/sysrq-trigger (CONFIG_MAGIC_SYSRQ); one kernel, so the host's answer
    is every container's."""
    return (proc / "sysrq-trigger").exists()
