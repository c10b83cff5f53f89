"""A mini container on an overlay rootfs, laid out as Docker's overlay2 driver lays one out.

Under a temporary directory ``cgscope-test-<random>``: ``overlay2/<image>/diff`` (a busybox-static rootfs,
the image layer), ``overlay2/<id>-init/diff`` (empty /etc/hosts, /etc/hostname, /etc/resolv.conf: the init
layer), ``overlay2/l/<short>`` symlinks to both, ``overlay2/<id>/{diff,work,merged}`` (the container layer,
overlay's work directory and the mount), and ``containers/<id>/{hosts,hostname,resolv.conf}``, the
per-container files bind-mounted over the init layer's.

The overlay is mounted in the host's mount namespace, as Docker mounts it; the container's init runs in new
pid, mount, uts and ipc namespaces (and net, unless shared with the host), chroot()ed into the mount, with
/proc mounted, /proc/timer_list masked by /dev/null and /proc/sys read-only, as runc does. On exit every
process is killed, the overlay unmounted and the directory removed, even on failure; a mount left behind
raises.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .containers import (
    PREFIX,
    RUNC_BUSYBOX,
    TestCgroup,
    children,
    create_test_cgroup,
    kill_and_reap,
    pid_alive,
    start_time,
    wait_until,
)

APPLETS = ("sh", "sleep", "cat", "ls", "rm", "mkdir", "touch", "mv", "true", "mount")
IMAGE_FILES = {  # the image layer's own files, besides busybox
    "data/changed": "version 1\n",
    "data/deleted": "to be deleted\n",
    "data/kept": "kept as is\n",
    "olddir/a": "a\n",
    "olddir/b": "b\n",
}
FILE_MOUNTS = ("hosts", "hostname", "resolv.conf")
MASKED = "/proc/timer_list"
READ_ONLY = "/proc/sys"


@dataclass(frozen=True)
class OverlayContainer:
    init_pid: int  # host pid of the container's pid 1 (the script's shell)
    unshare_pid: int  # the unshare(1) process that forked it: new namespaces but the host's pid namespace
    base: Path  # the temporary directory holding everything
    image: Path  # overlay2/<image>/diff
    init_layer: Path  # overlay2/<id>-init/diff
    links: tuple[Path, Path]  # overlay2/l/<short> for the init layer and the image, as lowerdir names them
    upper: Path  # overlay2/<id>/diff
    work: Path
    merged: Path
    files: dict[str, Path]  # /etc/hosts ... -> the host file bind-mounted there
    cgroup: TestCgroup | None

    def exec(self, script: str, timeout: float = 10.0) -> str:
        """Run ``sh -c SCRIPT`` inside the container (its mount and pid namespaces and root); its stdout."""
        result = subprocess.run(
            [
                "nsenter",
                "-t",
                str(self.init_pid),
                "--mount",
                "--pid",
                "--root",
                "--wd",
                "/bin/sh",
                "-c",
                script,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return result.stdout


def _build_layers(base: Path, cid: str) -> tuple[Path, Path, tuple[Path, Path]]:
    store = base / "overlay2"
    image = store / secrets.token_hex(32) / "diff"
    init_layer = store / f"{cid}-init" / "diff"
    for sub in ("bin", "proc", "tmp", "etc", "data", "olddir"):
        (image / sub).mkdir(parents=True)
    shutil.copy2(RUNC_BUSYBOX, image / "bin" / "busybox")
    for applet in APPLETS:
        (image / "bin" / applet).symlink_to("busybox")
    for rel, text in IMAGE_FILES.items():
        (image / rel).write_text(text)
    (init_layer / "etc").mkdir(parents=True)
    for name in FILE_MOUNTS:
        (init_layer / "etc" / name).touch()
    (store / "l").mkdir()
    links = (store / "l" / secrets.token_hex(13).upper(), store / "l" / secrets.token_hex(13).upper())
    links[0].symlink_to(f"../{cid}-init/diff")
    links[1].symlink_to(f"../{image.parent.name}/diff")
    return image, init_layer, links


def _mounted_under(base: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    return [p for p in points if p == str(base) or p.startswith(f"{base}/")]


def _unmount(merged: Path, timeout: float = 5.0) -> None:
    def done() -> bool:
        if not _mounted_under(merged):
            return True
        subprocess.run(["umount", str(merged)], check=False, capture_output=True)
        return not _mounted_under(merged)

    try:
        wait_until(done, timeout, f"umount {merged}")
    except TimeoutError:
        subprocess.run(["umount", "-l", str(merged)], check=False, capture_output=True)
        raise


WRAPPER = """set -e
m=$1
mount -t proc proc "$m/proc"
for f in {files}; do mount --bind "$2/$f" "$m/etc/$f"; done
mount --bind /dev/null "$m{masked}"
mount --bind "$m{read_only}" "$m{read_only}" && mount -o remount,bind,ro "$m{read_only}"
exec chroot "$m" /bin/sh -c "$3"
"""


def _spawn(
    merged: Path, files_dir: Path, script: str, *, own_net: bool, cgroup: TestCgroup | None, err: IO[bytes]
) -> subprocess.Popen[bytes]:
    """unshare(1) the container's namespaces (in `cgroup`, if any); its child mounts what runc would and
    chroot()s into `merged` to run the script."""
    joins = "".join(f"echo $$ > '{f}' && " for f in cgroup.procs_files()) if cgroup else ""
    wrapper = WRAPPER.format(files=" ".join(FILE_MOUNTS), masked=MASKED, read_only=READ_ONLY)
    flags = ["--pid", "--fork", "--mount", "--uts", "--ipc", *(["--net"] if own_net else [])]
    outer = f'{joins}exec unshare {" ".join(flags)} sh -c "$1" sh "$2" "$3" "$4"'
    return subprocess.Popen(
        ["sh", "-c", outer, "sh", wrapper, str(merged), str(files_dir), script],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=err,
    )


def _stop(init: tuple[int, int] | None, proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    if init is not None and pid_alive(*init):
        os.kill(init[0], signal.SIGKILL)  # ends the whole pid namespace
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
        kill_and_reap(proc)
        if proc.stdin is not None:
            proc.stdin.close()


@contextlib.contextmanager
def overlay_container(
    script: str = "exec sleep 1000",
    *,
    own_net: bool = True,
    own_cgroup: bool = False,
    parent: Path | None = None,
    timeout: float = 10.0,
) -> Iterator[OverlayContainer]:
    """Run ``sh -c SCRIPT`` as pid 1 of the container (its stdin an open pipe nothing writes to, so
    ``read`` blocks). `own_net`: a network namespace of its own, else the host's. `own_cgroup`: start it in
    a fresh test cgroup "/cgscope-test-<hex>" in every hierarchy. `parent`: where to make the temporary
    directory (the system's default), on a filesystem that can hold an overlay's upper directory."""
    cid = secrets.token_hex(32)
    base = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
    merged = base / "overlay2" / cid / "merged"
    upper, work = merged.parent / "diff", merged.parent / "work"
    files_dir = base / "containers" / cid
    proc: subprocess.Popen[bytes] | None = None
    cgroup: TestCgroup | None = None
    init: tuple[int, int] | None = None
    mounted = False
    # stderr goes to a file, not a pipe: the container inherits it and may write a lot.
    with tempfile.TemporaryFile() as err:
        try:
            image, init_layer, links = _build_layers(base, cid)
            for d in (upper, work, merged, files_dir):
                d.mkdir(parents=True)
            for name in FILE_MOUNTS:
                (files_dir / name).write_text(f"{name} of container {cid[:12]}\n")
            options = f"lowerdir={links[0]}:{links[1]},upperdir={upper},workdir={work}"
            subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)], check=True)
            mounted = True
            cgroup = create_test_cgroup() if own_cgroup else None
            proc = _spawn(merged, files_dir, script, own_net=own_net, cgroup=cgroup, err=err)
            unshare = proc

            def find_init() -> int | None:
                if unshare.poll() is not None:
                    err.seek(0)
                    raise RuntimeError(
                        f"container setup exited with {unshare.returncode}: {err.read().decode()}"
                    )
                with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                    kids = children(unshare.pid)
                    # chroot()ed, and exec'd the image's busybox. A reader that is itself chroot()ed sees
                    # the path from the mount namespace's root: a prefix, then ours.
                    if kids and os.readlink(f"/proc/{kids[0]}/exe").endswith(f"{merged}/bin/busybox"):
                        return kids[0]
                return None

            init_pid = wait_until(find_init, timeout, "the container's init to chroot")
            init = (init_pid, start_time(init_pid))
            files = {f"/etc/{name}": files_dir / name for name in FILE_MOUNTS}
            yield OverlayContainer(
                init_pid, proc.pid, base, image, init_layer, links, upper, work, merged, files, cgroup
            )
        finally:
            try:
                _stop(init, proc, timeout)
            finally:
                try:
                    if mounted:
                        _unmount(merged)
                finally:
                    if cgroup is not None:
                        cgroup.remove()
                    left = _mounted_under(base)
                    if not left:
                        shutil.rmtree(base)
                    if left:
                        raise AssertionError(f"mounts left behind under {base}: {left}")
