"""Opening a layer path (fs/layerdirs.py) under a fixture root: which symlinks on the way are followed
(root's own, in directories only root may change; the runtimes' l/<layer> links, by their layout) and
which are refused (any other user's), and how the walk stays under the root it was given."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cgscope.errors import ProcessGone
from cgscope.fs.layerdirs import Refused, open_layer

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="symlinks owned by root and by others need root")
USER = 1000


def opened(root: Path, path: str) -> str | None:
    """Where open_layer led, as a host path; the directory is closed again."""
    found = open_layer(root, path)
    found.close()
    return found.resolved


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A host root, 0755 as /, holding /srv/docker/overlay2/<layer>/diff and /var/lib."""
    host = tmp_path / "host"
    (host / "srv" / "docker" / "overlay2" / "abc" / "diff").mkdir(parents=True)
    (host / "var" / "lib").mkdir(parents=True)
    (host / "etc").mkdir()
    for d in (host, *host.rglob("*")):
        d.chmod(0o755)
    return host


def test_a_path_without_symlinks_opens_as_it_is(root: Path) -> None:
    assert opened(root, "/srv/docker/overlay2/abc/diff") is None
    assert opened(root, "//srv/./docker/overlay2/abc/diff/") is None


@needs_root
def test_roots_own_link_in_a_directory_only_root_may_change_is_followed(root: Path) -> None:
    (root / "var" / "lib" / "docker").symlink_to("/srv/docker")  # absolute: within the host root
    assert opened(root, "/var/lib/docker/overlay2/abc/diff") == "/srv/docker/overlay2/abc/diff"
    (root / "var" / "lib").chmod(0o1777)  # others may write, but not remove or rename root's links
    assert opened(root, "/var/lib/docker/overlay2/abc/diff") == "/srv/docker/overlay2/abc/diff"
    (root / "var" / "lib").chmod(0o777)  # anyone could have put it there
    with pytest.raises(Refused, match=r"^/var/lib/docker is a symlink owned by uid 0 \(cgscope follows"):
        open_layer(root, "/var/lib/docker/overlay2/abc/diff")


@needs_root
def test_another_users_link_is_refused_wherever_it_points(root: Path) -> None:
    (root / "var" / "lib" / "docker").symlink_to("/srv/docker")
    os.lchown(root / "var" / "lib" / "docker", USER, USER)
    with pytest.raises(Refused) as refused:
        open_layer(root, "/var/lib/docker/overlay2/abc/diff")
    assert str(refused.value) == (
        f"/var/lib/docker is a symlink owned by uid {USER} (cgscope follows only root's own links and the "
        "runtimes' l/<layer> links)"
    )


@needs_root
def test_the_runtimes_short_links_are_resolved_by_their_layout_whoever_owns_them(root: Path) -> None:
    store = root / "srv" / "docker" / "overlay2"
    (store / "l").mkdir()
    links = {"GOOD": "../abc/diff", "OUT": "../../../../etc", "ABS": "/etc", "DEEPER": "../abc/diff/../.."}
    for name, target in links.items():
        (store / "l" / name).symlink_to(target)
        os.lchown(store / "l" / name, USER, USER)  # rootless Podman: the user's own store
    assert opened(root, "/srv/docker/overlay2/l/GOOD") == "/srv/docker/overlay2/abc/diff"
    for name in ("OUT", "ABS", "DEEPER"):
        with pytest.raises(Refused, match=f"^/srv/docker/overlay2/l/{name} is a symlink owned by uid {USER}"):
            open_layer(root, f"/srv/docker/overlay2/l/{name}")


@needs_root
def test_dot_dot_never_climbs_above_the_root(root: Path) -> None:
    (root / "var" / "up").symlink_to("../../../../../etc")
    assert opened(root, "/var/up") == "/etc"  # the fixture's /etc, as the kernel stops at "/"
    assert opened(root, "/../../etc") is None


def test_what_is_not_a_directory_is_refused_and_what_is_missing_is_gone(root: Path) -> None:
    (root / "etc" / "file").write_text("x")
    with pytest.raises(Refused, match=r"^/etc/file is not a directory$"):
        open_layer(root, "/etc/file/diff")
    with pytest.raises(ProcessGone, match=r"^/nowhere/diff: no such directory$"):
        open_layer(root, "/nowhere/diff")


@needs_root
def test_a_loop_of_links_ends(root: Path) -> None:
    (root / "var" / "a").symlink_to("b")
    (root / "var" / "b").symlink_to("a")
    with pytest.raises(Refused, match=r"^more than 40 symlinks on the way$"):
        open_layer(root, "/var/a")
