"""`cgscope nsenter` as `docker exec` runs a command: in the container's cgroups (every hierarchy), with its
capability bounding set and no_new_privs, a clean environment, root's shell read inside the container's
own root; into user namespaces whose setgroups is "deny"; never into a kernel thread or a zombie."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import require_root_and
from .containers import (
    BareContainer,
    RuncContainer,
    bare_container,
    children,
    create_test_cgroup,
    kill_and_reap,
    proc_status,
    wait_until,
)

MAIN = Path(__file__).resolve().parents[2]


def nsenter(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cgscope", "nsenter", *argv],
        capture_output=True,
        text=True,
        env={**(env if env is not None else os.environ), "PYTHONPATH": str(MAIN)},
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


# -- cgroups ------------------------------------------------------------------------------------------


def test_the_command_runs_in_every_cgroup_of_the_container(bare_container: BareContainer) -> None:
    pid = str(bare_container.init_pid)
    before = [procs.read_text() for procs in bare_container.cgroup.procs_files()]
    inside = nsenter(pid, "--", "cat", "/proc/self/cgroup")
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout == Path(f"/proc/{pid}/cgroup").read_text()  # v1 and v2, name=systemd too
    assert all(bare_container.cgroup_path in line for line in inside.stdout.splitlines())
    kept = nsenter(pid, "--keep-cgroup", "--", "cat", "/proc/self/cgroup")
    assert kept.stdout == Path("/proc/self/cgroup").read_text()  # util-linux's way: the caller's
    after = [procs.read_text() for procs in bare_container.cgroup.procs_files()]
    assert after == before  # nothing of nsenter's is left behind


def test_a_frozen_container_is_refused_not_joined(bare_container: BareContainer) -> None:
    state = bare_container.cgroup.dirs.get("freezer")
    if state is None:
        pytest.skip("needs the v1 freezer hierarchy")
    (state / "freezer.state").write_text("FROZEN\n")
    try:
        refused = nsenter(str(bare_container.init_pid), "--", "true")
    finally:
        (state / "freezer.state").write_text("THAWED\n")
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"cgscope: freezer:{bare_container.cgroup_path} is frozen: ")
    assert "--keep-cgroup" in refused.stderr and "\n" not in refused.stderr.rstrip("\n")


# -- environment --------------------------------------------------------------------------------------

INIT_ENV = "PATH=/cgscope-test/bin:/usr/bin:/bin HOME=/cgscope-test-home"


def test_the_command_gets_the_container_environment_not_the_callers() -> None:
    require_root_and("unshare")
    script = f"exec env -i {INIT_ENV} sh -c 'sleep 1000 & sleep 1000 & wait'"
    caller = {**os.environ, "PS1": "host$ ", "VIRTUAL_ENV": "/venv", "TERM": "xterm-cgscope"}
    caller["PATH"] = f"/venv/bin:{caller.get('PATH', '/usr/bin:/bin')}"
    with bare_container(script) as c:
        inside = nsenter(str(c.init_pid), "--", "env", env=caller)
        assert inside.returncode == 0, inside.stderr
        assert sorted(inside.stdout.splitlines()) == [
            "HOME=/cgscope-test-home",
            "PATH=/cgscope-test/bin:/usr/bin:/bin",
            "TERM=xterm-cgscope",
        ]
        host_fs = nsenter(str(c.init_pid), "--ns", "uts", "--", "env", env=caller)  # the host's files
        assert "PS1=host$ " in host_fs.stdout.splitlines()


# -- root's shell, read inside the container's root -------------------------------------------------


def plant_passwd(rootfs: Path, host_dir: Path) -> None:
    """The container's /etc/passwd is an absolute symlink. Through /proc/PID/root it would resolve to
    `host_dir`/passwd on the host; inside the container it resolves to rootfs/`host_dir`/passwd."""
    (host_dir / "passwd").write_text("root:x:0:0:root:/root:/bin/host-shell\n")
    inside = rootfs / host_dir.relative_to("/")
    inside.mkdir(parents=True)
    (inside / "passwd").write_text("root:x:0:0:root:/root:/bin/inside-shell\n")
    (rootfs / "etc").mkdir(exist_ok=True)
    (rootfs / "etc/passwd").symlink_to(host_dir / "passwd")
    for name in ("host-shell", "inside-shell"):  # both exist in the container: only one is its own
        shell = rootfs / "bin" / name
        shell.write_text(f"#!/bin/sh\necho {name}\n")
        shell.chmod(0o755)


def test_root_shell_comes_from_the_container_passwd_even_through_an_absolute_symlink(
    runc_container: RuncContainer,
) -> None:
    with tempfile.TemporaryDirectory(prefix="cgscope-test-") as host_dir:
        plant_passwd(runc_container.bundle / "rootfs", Path(host_dir))
        result = nsenter(runc_container.id)
    assert (result.returncode, result.stdout, result.stderr) == (0, "inside-shell\n", "")


# -- capabilities -------------------------------------------------------------------------------------


def privileges(status: str) -> dict[str, str]:
    keys = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs")
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    return {k: fields[k].strip() for k in keys}


def test_the_command_has_the_container_capabilities(runc_container: RuncContainer) -> None:
    init = proc_status(runc_container.init_pid)
    assert init["CapBnd"] != proc_status(os.getpid())["CapBnd"]  # runc's default drops most of them
    inside = nsenter(runc_container.id, "--", "cat", "/proc/self/status")
    assert inside.returncode == 0, inside.stderr
    bounding = init["CapBnd"]
    assert privileges(inside.stdout) == {
        "CapInh": "0000000000000000",
        "CapPrm": bounding,
        "CapEff": bounding,
        "CapBnd": bounding,
        "CapAmb": "0000000000000000",
        "NoNewPrivs": init["NoNewPrivs"],
    }
    kept = privileges(nsenter(runc_container.id, "--keep-caps", "--", "cat", "/proc/self/status").stdout)
    assert kept["CapBnd"] == proc_status(os.getpid())["CapBnd"]


# -- a user namespace whose setgroups is "deny" -------------------------------------------------------


@contextlib.contextmanager
def user_ns_container() -> Iterator[int]:
    """`unshare --user --map-root-user --pid --fork --mount-proc sleep 1000` in a test cgroup of its own;
    yields the sleep's pid."""
    cg = create_test_cgroup()
    proc = None
    try:
        joins = "".join(f"echo $$ > '{f}' && " for f in cg.procs_files())
        command = "unshare --user --map-root-user --pid --fork --mount-proc sleep 1000"
        proc = subprocess.Popen(["sh", "-c", f"{joins}exec {command}"], stdin=subprocess.DEVNULL)

        def sleeping() -> int | None:
            kids = children(proc.pid) if proc is not None and proc.poll() is None else []
            if kids and Path(f"/proc/{kids[0]}/comm").read_text().strip() == "sleep":
                return kids[0]
            return None

        yield wait_until(sleeping, what="the sleep in its user namespace")
    finally:
        if proc is not None:
            kill_and_reap(proc)  # unshare: its pid namespace's init dies with it (--kill-child is not set)
            for pid in [int(p) for f in cg.procs_files() for p in f.read_text().split()]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 9)
        cg.remove()


def test_nsenter_enters_a_user_namespace_whose_setgroups_is_deny() -> None:
    require_root_and("unshare")
    with user_ns_container() as pid:
        assert Path(f"/proc/{pid}/setgroups").read_text().strip() == "deny"
        probe = ["sh", "-c", "id -u; readlink /proc/self/ns/user; cat /proc/self/setgroups"]
        ours = nsenter(str(pid), "--", *probe)
        assert ours.returncode == 0, ours.stderr
        user_ns = os.readlink(f"/proc/{pid}/ns/user")
        assert ours.stdout.split() == ["0", user_ns, "deny"]
        if shutil.which("nsenter") is not None:  # util-linux enters it too, and sees the same
            theirs = subprocess.run(
                ["nsenter", "-t", str(pid), "-a", *probe], capture_output=True, text=True, check=True
            )
            assert theirs.stdout == ours.stdout


# -- targets that are no process to enter -------------------------------------------------------------


def test_nsenter_refuses_a_kernel_thread_and_a_zombie() -> None:
    require_root_and()
    kthreadd = nsenter("2", "--", "true")
    assert kthreadd.returncode == 1
    assert kthreadd.stderr == (
        "cgscope: process 2 ([kthreadd]) is a kernel thread: nsenter works on user processes and containers\n"
    )
    zombie = subprocess.Popen(["true"])
    try:
        wait_until(lambda: proc_status(zombie.pid)["State"].startswith("Z"), what="a zombie")
        refused = nsenter(str(zombie.pid), "--", "true")
    finally:
        zombie.wait()
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"cgscope: process {zombie.pid} (true) has exited (a zombie")
