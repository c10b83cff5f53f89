"""A container's PID 1 and its single-process model: inits that reap, shells, apps, zombies, exited apps and
processes in its cgroup from outside its namespaces."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fakehost import HOST_NS

from cgscope.model.containers import Container
from cgscope.model.lifecycle import build_lifecycle, classify, outside_namespaces
from cgscope.model.process import Process

OWN = {"ipc": 4026532201, "mnt": 4026532202, "net": 4026532203, "pid": 4026532204, "uts": 4026532205}
CONTAINER_NS = {**HOST_NS, **OWN}


def proc(
    pid: int, cmdline: tuple[str, ...], *, ppid: int = 100, state: str = "S", comm: str | None = None
) -> Process:
    name = comm or (cmdline[0].rsplit("/", 1)[-1] if cmdline else "?")
    return Process(
        pid=pid,
        start_ticks=pid,
        start_time=0.0,
        ppid=ppid,
        comm=name[:15],
        state=state,
        kernel_thread=False,
        uid=0,
        user="root",
        nspid=pid - 199 if pid >= 200 else None,
        cmdline=() if state == "Z" else cmdline,
        cgroups={},
        namespaces=CONTAINER_NS,
    )


@pytest.mark.parametrize(
    ("cmdline", "comm", "kind"),
    [
        (("/sbin/docker-init", "--", "nginx"), "docker-init", "init"),
        (("/usr/bin/tini", "--", "app"), "tini", "init"),
        (("/usr/bin/dumb-init", "app"), "dumb-init", "init"),
        (("/catatonit", "-P"), "catatonit", "init"),
        (("/pause",), "pause", "init"),
        (("/sbin/init",), "systemd", "init"),  # systemd started as /sbin/init
        (("/bin/sh", "-c", "app"), "sh", "shell"),
        (("-bash",), "bash", "shell"),  # a login shell
        (("nginx: master process nginx -g daemon off;",), "nginx", "app"),  # argv[0] rewritten
        (("python3", "app.py"), "python3", "app"),
    ],
)
def test_what_pid_1_is(cmdline: tuple[str, ...], comm: str, kind: str) -> None:
    assert classify(proc(200, cmdline, comm=comm))[0] == kind


def test_shell_pid_1_with_an_exited_child_left_as_zombie() -> None:
    init = proc(200, ("/bin/sh", "-c", "sleep 0.1 & read x"), ppid=150)
    zombie = proc(209, (), ppid=200, state="Z", comm="sleep")
    lc = build_lifecycle(init, [init, zombie], None, [])
    assert (lc.kind, lc.script, lc.reaps) == ("shell", True, None)
    assert lc.unreaped == (lc.zombies[0],) and lc.zombies[0].pid == 209
    assert lc.app_exited  # nothing runs under the shell any more
    assert [w.id for w in lc.warnings] == ["zombies-unreaped", "app-exited"]


def test_init_with_a_running_app_and_a_zombie_it_has_not_reaped_yet() -> None:
    init = proc(200, ("/sbin/docker-init", "--", "app"), ppid=150, comm="docker-init")
    app = proc(201, ("app",), ppid=200)
    worker_zombie = proc(230, (), ppid=201, state="Z", comm="worker")
    lc = build_lifecycle(init, [init, app, worker_zombie], "/docker/abc", [])
    assert (lc.kind, lc.reaps, lc.app_exited) == ("init", True, False)
    assert lc.unreaped == () and len(lc.zombies) == 1
    assert [w.id for w in lc.warnings] == ["zombies"]


def test_init_whose_app_exited() -> None:
    init = proc(200, ("/usr/bin/tini", "--", "app"), ppid=150)
    lc = build_lifecycle(init, [init], None, [])
    assert lc.app_exited and [w.id for w in lc.warnings] == ["app-exited"]


def test_app_as_pid_1_and_an_interactive_shell_are_healthy_alone() -> None:
    for cmdline in (("nginx", "-g", "daemon off;"), ("sh",)):
        init = proc(200, cmdline, ppid=150)
        lc = build_lifecycle(init, [init], None, [])
        assert not lc.app_exited and lc.warnings == ()


def test_processes_in_the_cgroup_outside_the_namespaces() -> None:
    c = Container(
        id="pid-4026532204",
        name="sh",
        runtime="bare",
        init_pid=200,
        pids=(150, 200, 201),
        cgroup={"unified": "/cgscope-test-1"},
        namespaces=CONTAINER_NS,
        shared_with_host=("cgroup", "time", "user"),
    )
    unshare_parent = {**CONTAINER_NS, "pid": HOST_NS["pid"]}  # forked the init, stays in the host's pid ns
    moved_in = dict(HOST_NS)  # a host shell echoed its pid into cgroup.procs
    half_known = {**HOST_NS, "net": None, "mnt": None}
    found = outside_namespaces(
        c, {150: unshare_parent, 200: CONTAINER_NS, 201: CONTAINER_NS, 300: moved_in, 301: half_known}
    )
    assert found == [
        (150, ("pid",)),
        (300, ("ipc", "mnt", "net", "pid", "uts")),
        (301, ("ipc", "pid", "uts")),  # unreadable types are not compared
    ]


def test_a_container_sharing_the_host_pid_namespace_has_no_pid_1() -> None:
    # docker run --pid=host: its first process is an ordinary host pid; orphans go to the host's init
    init = replace(proc(200, ("/bin/sh", "-c", "app & read x"), ppid=150), nspid=5321)
    zombie = replace(proc(201, (), ppid=200, state="Z", comm="app"), nspid=5322)
    lc = build_lifecycle(init, [init, zombie], None, [])
    assert lc.who == "its init"
    assert lc.warnings[0].text.startswith("1 zombie(s) under its init (sh)")


def test_shell_running_a_builtin_loop_has_no_child_and_is_alive() -> None:
    """`sh -c 'while :; do :; done'` as PID 1 (state R, using its CPU): nothing it started has exited."""
    init = proc(200, ("sh", "-c", "while :; do :; done"), ppid=150, state="R")
    lc = build_lifecycle(init, [init], "/docker/abc", [])
    assert (lc.kind, lc.script, lc.children) == ("shell", True, ())
    assert not lc.app_exited and lc.warnings == ()
