"""What other users put on the host must not lead root's `diff` and `inspect` into other directories: an
overlay whose upper directory path passes through a symlink its owner (uid 65534, by setpriv) re-points
after the mount; a directory swapped under the mounted one's name; an overlay a user mounted in a user
namespace of their own over paths that name root's directories on the host; a container layer 1,100
directories deep. Each overlay is mounted here and unmounted in the end (or dies with the user's mount
namespace); root's directory `secret` (0700) holds names that must never be printed."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import require_root_and
from .containers import PREFIX, RUNC_BUSYBOX, children, kill_and_reap, wait_until

NOBODY = 65534
SECRET = "root-only-key"  # the name of root's file, under secret/keys/
DEEP = 1100


@pytest.fixture(autouse=True)
def needs_overlay() -> None:
    require_root_and("unshare", "chroot", "mount", "umount", "setpriv")
    if "overlay" not in Path("/proc/filesystems").read_text().split():
        pytest.skip("needs overlayfs")


def as_nobody(script: str, **popen: Any) -> subprocess.Popen[bytes]:
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    return subprocess.Popen([*drop, "sh", "-ec", script], cwd="/", **popen)


def nobody_does(script: str) -> None:
    proc = as_nobody(script)
    assert proc.wait(30) == 0, script


def cgscope(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cgscope", *argv], capture_output=True, text=True, check=False, timeout=120
    )


@dataclass(frozen=True)
class Planted:
    base: Path
    home: Path  # the user's: real-up (the upper directory), work, and "up", their symlink to real-up
    secret: Path  # root's, 0700: keys/root-only-key
    merged: Path
    pid: int  # a process chroot()ed into the overlay, in pid and mount namespaces of its own


def _layout() -> tuple[Path, Path, Path]:
    base = Path(tempfile.mkdtemp(prefix=PREFIX))
    base.chmod(0o755)
    secret = base / "secret"
    (secret / "keys").mkdir(parents=True)
    secret.chmod(0o700)
    (secret / "keys" / SECRET).write_text("root's\n")
    (base / "lower" / "bin").mkdir(parents=True)
    (base / "lower" / "keys").mkdir()
    shutil.copy2(RUNC_BUSYBOX, base / "lower" / "bin" / "busybox")
    (base / "lower" / "bin" / "sleep").symlink_to("busybox")
    home = base / "home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    nobody_does(f"mkdir {home}/real-up {home}/work {home}/m && ln -s real-up {home}/up")
    return base, home, secret


def _stands_in(root: Path, parent: int) -> int | None:
    for kid in children(parent):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{kid}/root") == str(root) and os.readlink(f"/proc/{kid}/exe").endswith(
                "/bin/busybox"
            ):
                return kid
    return None


def _unmount(merged: Path) -> None:
    def done() -> bool:
        subprocess.run(["umount", str(merged)], check=False, capture_output=True)
        return str(merged) not in Path("/proc/self/mountinfo").read_text()

    wait_until(done, 5.0, f"umount {merged}")


@contextlib.contextmanager
def planted_overlay(upper: str) -> Iterator[Planted]:
    """An overlay root mounts with lowerdir=<base>/lower (busybox), upperdir=<home>/<upper> ("up", through
    the user's symlink, or "real-up"), workdir=<home>/work, and a process standing in it."""
    base, home, secret = _layout()
    merged = base / "merged"
    merged.mkdir()
    proc: subprocess.Popen[bytes] | None = None
    pid = None
    mounted = False
    try:
        options = f"lowerdir={base}/lower,upperdir={home}/{upper},workdir={home}/work"
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)], check=True)
        mounted = True
        proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount", "chroot", str(merged), "/bin/sleep", "1000"]
        )
        started = proc
        pid = wait_until(lambda: _stands_in(merged, started.pid), 10.0, "the process to chroot")
        yield Planted(base, home, secret, merged, pid)
    finally:
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # ends its pid namespace
        if proc is not None:
            kill_and_reap(proc)
        if mounted:
            _unmount(merged)
        subprocess.run(["rm", "-rf", str(base)], check=True)  # a tree 1,100 deep is too deep for rmtree


def never_shows_the_secret(*outputs: str) -> None:
    for text in outputs:
        assert SECRET not in text and "Traceback" not in text, text


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1 and result.stdout == "", result
    [line] = result.stderr.splitlines()
    return line


def inspected(pid: int) -> tuple[dict[str, Any], str]:
    data, text = cgscope("inspect", str(pid), "--json"), cgscope("inspect", str(pid))
    assert data.returncode == 0 and text.returncode == 0, (data.stderr, text.stderr)
    never_shows_the_secret(data.stdout, data.stderr, text.stdout, text.stderr)
    return json.loads(data.stdout), text.stdout


def test_an_upper_path_through_a_users_symlink_is_refused_wherever_it_points() -> None:
    with planted_overlay("up") as p:
        upper = f"{p.home}/up"
        for target in (f"{p.home}/real-up", str(p.secret / "keys"), "/"):
            nobody_does(f"ln -sfn {target} {p.home}/up")
            diff = cgscope("diff", str(p.pid))
            never_shows_the_secret(diff.stdout, diff.stderr)
            assert one_line(diff) == (
                f"cgscope: container layer {upper}: not read: {upper} is a symlink owned by uid {NOBODY} "
                "(cgscope follows only root's own links and the runtimes' l/<layer> links)"
            )
            data, text = inspected(p.pid)
            [layer, lower] = data["rootfs"]["layers"]
            assert (layer["path"], layer["size"], layer["files"]) == (upper, None, None), target
            assert layer["problem"] == diff.stderr.removeprefix("cgscope: ").rstrip("\n")
            assert lower["problem"] is None and lower["files"] == 2  # busybox and its sleep link
            assert text.count("\n! container layer") == 1


def test_a_directory_swapped_under_the_mounted_ones_name_is_refused() -> None:
    with planted_overlay("real-up") as p:
        (p.merged / "added").write_text("through the overlay\n")
        assert cgscope("diff", str(p.pid)).stdout == "A /added\n"
        nobody_does(f"cd {p.home} && mv real-up mounted && mkdir real-up && echo x > real-up/decoy")
        diff = cgscope("diff", str(p.pid))
        assert one_line(diff) == (
            f"cgscope: container layer {p.home}/real-up: not read: not the directory this overlay mounted "
            "(the overlay's root shows another)"
        )
        data, _ = inspected(p.pid)
        assert data["rootfs"]["layers"][0]["files"] is None  # the decoy is not counted


@contextlib.contextmanager
def users_own_overlay() -> Iterator[Planted]:
    """In a user namespace of their own the user mounts a tmpfs over root's `secret` and names it as the
    lower layer of an overlay, then stands in it: on the host, that path is root's directory. Their
    upper makes keys/ opaque, so reading root's directory as the lower one would list its names as
    deleted. Their mount namespace, and the mounts in it, end with their process."""
    base, home, secret = _layout()
    nobody_does(f"mkdir {home}/real-up/keys")
    nobody_does(f"python3 -c \"import os; os.setxattr('{home}/real-up/keys', 'user.overlay.opaque', b'y')\"")
    mount = (
        f"mount -t tmpfs t {secret} && mkdir -p {secret}/bin {secret}/keys && cp {RUNC_BUSYBOX} "
        f"{secret}/bin/busybox && ln -s busybox {secret}/bin/sleep && mount -t overlay overlay -o "
        f"userxattr,lowerdir={secret},upperdir={home}/real-up,workdir={home}/work {home}/m && "
        f"exec chroot {home}/m /bin/sleep 1000"
    )
    with tempfile.TemporaryFile() as err:
        user = as_nobody(f"exec unshare --user --map-root-user --mount sh -ec '{mount}'", stderr=err)

        def standing() -> int | None:
            if user.poll() is not None:
                err.seek(0)
                raise RuntimeError(f"the user's overlay: {err.read().decode()}")
            return user.pid if os.path.exists(f"/proc/{user.pid}/root/bin/busybox") else None

        try:
            yield Planted(base, home, secret, home / "m", wait_until(standing, 10.0, "the user's overlay"))
        finally:
            kill_and_reap(user)
            subprocess.run(["rm", "-rf", str(base)], check=True)


def test_an_overlay_a_user_mounted_over_paths_naming_roots_directories_is_refused() -> None:
    with users_own_overlay() as p:
        diff = cgscope("diff", str(p.pid))
        never_shows_the_secret(diff.stdout, diff.stderr)
        assert one_line(diff) == (
            f"cgscope: image layer {p.secret}: not read: owned by uid 0, which the user namespace of the "
            "mount's container does not map"
        )
        data, _ = inspected(p.pid)
        assert [(x["path"], x["files"], x["problem"] is None) for x in data["rootfs"]["layers"]] == [
            (f"{p.home}/real-up", 0, True),
            (str(p.secret), None, False),
        ]


def test_a_container_layer_deeper_than_cgscope_walks_ends_in_one_line() -> None:
    with planted_overlay("real-up") as p:
        nobody_does(f"cd {p.home}/real-up && mkdir -p {'/'.join(['d'] * DEEP)}")
        diff = cgscope("diff", str(p.pid))
        line = one_line(diff)
        assert line.startswith(
            f"cgscope: container layer {p.home}/real-up: deeper than 256 directories, at /d/d/"
        )
        assert line.endswith("…; cgscope compares no further")
        data, _ = inspected(p.pid)
        layer = data["rootfs"]["layers"][0]
        assert (layer["size"], layer["files"]) == (None, None)
        assert layer["problem"].startswith(f"container layer {p.home}/real-up: deeper than 256 directories")
        assert layer["problem"].endswith("…: not counted")
