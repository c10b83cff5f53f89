"""Union filesystem layers on disk: overlay options as mountinfo shows them, whiteouts and opaque
directories (made for real: character devices 0/0 and trusted.* xattrs, as root), AuFS's .wh. files, and
the A/C/D changes `cgscope diff` derives from them (Documentation/filesystems/overlayfs.rst)."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cgscope.fs.layertree import LowerView, TooLarge, tree_size, walk_layer
from cgscope.fs.mounttable import parse_mountinfo
from cgscope.fs.overlay import Aufs, Overlay, aufs_branches, overlay_dirs, split_lowerdir
from cgscope.model.diff import Change, changes

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts (mknod) and trusted.* xattrs need root")


# -- mount options -------------------------------------------------------------------------------


def test_lowerdir_as_this_kernel_shows_escaped_paths() -> None:
    # Seen on Linux 6.18 after `mount -o 'lowerdir=/t/lo\,w\:1:/t/lo2,...'`: the mounter's escapes are kept,
    # their backslashes (and the comma) octal-escaped by seq_show_option.
    line = (
        r"45 27 0:39 / /t/m rw,relatime - overlay overlay rw,lowerdir=/t/lo\134\054w\134:1:/t/lo2,"
        r"upperdir=/t/u\134\054p:x,workdir=/t/wk,uuid=on"
    )
    [mount] = parse_mountinfo(line, "mountinfo")
    dirs = overlay_dirs(mount.super_options)
    assert dirs.lower == ("/t/lo,w:1", "/t/lo2")
    assert (dirs.upper, dirs.work, dirs.data, dirs.userxattr) == ("/t/u,p:x", "/t/wk", (), False)


def test_lowerdir_data_layers_and_octal_colons() -> None:
    assert split_lowerdir("/l1:/l2::/d1::/d2") == (["/l1", "/l2"], ["/d1", "/d2"])
    # Linux 6.5 and 6.6 escaped colons inside a layer's path as \072
    assert split_lowerdir(r"/a\072b:/c") == (["/a:b", "/c"], [])
    assert split_lowerdir("/only") == (["/only"], [])


def test_lowerdir_plus_options_and_userxattr() -> None:
    # mounts made with fsconfig(2) list one layer per option (Linux >= 6.7)
    opts = (
        "rw",
        "lowerdir+=/l/one",
        "lowerdir+=/l/t\\054wo",
        "datadir+=/d",
        "upperdir=/u",
        "workdir=/w",
        "userxattr",
    )
    dirs = overlay_dirs(opts)
    assert (dirs.lower, dirs.data, dirs.upper, dirs.userxattr) == (("/l/one", "/l/t,wo"), ("/d",), "/u", True)


def test_read_only_overlay_has_no_upper() -> None:
    dirs = overlay_dirs(("ro", "lowerdir=/a:/b"))
    assert (dirs.lower, dirs.upper, dirs.work) == (("/a", "/b"), None, None)


# -- layers built for real -----------------------------------------------------------------------


def whiteout(path: Path) -> None:
    """What overlayfs writes for a deleted name: a character device 0/0."""
    os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))


def opaque(path: Path, value: bytes = b"y", prefix: str = "trusted") -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.setxattr(path, f"{prefix}.overlay.opaque", value)


def write(path: Path, text: str = "x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def copy_dir_times(src: Path, dst: Path) -> None:
    """overlayfs copies a directory up with its mode and times: make `dst` look like that copy."""
    st = os.stat(src)
    os.chmod(dst, stat.S_IMODE(st.st_mode))
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.fixture
def image(tmp_path: Path) -> tuple[Path, Path]:
    """Two image layers (top, bottom). The top deletes /etc/old (whiteout) and replaced /opt (opaque)."""
    bottom, top = tmp_path / "bottom", tmp_path / "top"
    for rel in ("etc/passwd", "etc/old", "etc/hosts", "opt/gone", "srv/a", "srv/b", "var/log/x"):
        write(bottom / rel, "bottom " + rel)
    (top / "etc").mkdir(parents=True)
    if os.geteuid() == 0:
        whiteout(top / "etc" / "old")
        opaque(top / "opt")
        write(top / "opt" / "new", "top")
    return top, bottom


@needs_root
def test_lower_view_honours_whiteouts_and_opaque_dirs_of_lower_layers(image: tuple[Path, Path]) -> None:
    view = LowerView(image, Overlay())
    assert view.lookup("/etc/passwd") is not None
    assert view.lookup("/etc/old") is None  # whited out by the top layer
    assert view.lookup("/opt/gone") is None  # hidden below an opaque directory
    assert view.lookup("/opt/new") is not None
    assert view.lookup("/nope/deeper") is None
    assert view.children("/etc") == ["hosts", "passwd"]
    assert view.children("/opt") == ["new"]
    assert view.children("/srv") == ["a", "b"]


@needs_root
def test_container_layer_shows_exactly_what_changed(tmp_path: Path, image: tuple[Path, Path]) -> None:
    top, bottom = image
    upper = tmp_path / "upper"
    write(upper / "etc" / "hosts", "changed")  # copied up and rewritten
    whiteout(upper / "etc" / "passwd")  # deleted
    write(upper / "etc" / "added.conf", "new")
    copy_dir_times(bottom / "etc", upper / "etc")  # /etc itself: as copied up
    write(upper / "var" / "log" / "x", "appended")  # only a file changed below /var/log
    for d in ("var", "var/log"):
        copy_dir_times(bottom / d, upper / d)
    opaque(upper / "srv")  # rm -rf /srv; mkdir /srv; echo > /srv/b; echo > /srv/c
    write(upper / "srv" / "b", "again")
    write(upper / "srv" / "c", "new")
    write(upper / "new" / "deep" / "file")  # a new tree
    os.symlink("/etc/hosts", upper / "link")
    os.utime(upper / "etc", ns=(0, 0))  # adding and deleting names touched /etc's mtime
    got = changes(walk_layer(upper, Overlay()), LowerView([top, bottom], Overlay()))
    assert got == [
        Change("C", "/etc", "dir"),
        Change("A", "/etc/added.conf", "file"),
        Change("C", "/etc/hosts", "file"),
        Change("D", "/etc/passwd", "file"),
        Change("A", "/link", "symlink"),
        Change("A", "/new", "dir"),
        Change("A", "/new/deep", "dir"),
        Change("A", "/new/deep/file", "file"),
        Change("C", "/srv", "dir", replaced=True),
        Change("D", "/srv/a", "file"),
        Change("C", "/srv/b", "file"),
        Change("A", "/srv/c", "file"),
        Change("C", "/var/log/x", "file"),  # /var and /var/log: copied up unchanged, not listed
    ]


@needs_root
def test_parent_of_an_addition_is_changed_even_when_copied_up_unchanged(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    write(lower / "etc" / "a")
    (upper / "etc").mkdir(parents=True)
    copy_dir_times(lower / "etc", upper / "etc")
    write(upper / "etc" / "b")
    os.utime(upper / "etc", ns=(os.stat(lower / "etc").st_atime_ns, os.stat(lower / "etc").st_mtime_ns))
    got = changes(walk_layer(upper, Overlay()), LowerView([lower], Overlay()))
    assert got == [Change("C", "/etc", "dir"), Change("A", "/etc/b", "file")]


def test_userxattr_mounts_mark_opaque_dirs_with_user_xattrs(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    write(lower / "data" / "old")
    opaque(upper / "data", prefix="user")
    write(upper / "data" / "new")
    fmt = Overlay(userxattr=True)
    got = changes(walk_layer(upper, fmt), LowerView([lower], fmt))
    assert got == [
        Change("C", "/data", "dir", replaced=True),
        Change("A", "/data/new", "file"),
        Change("D", "/data/old", "file"),
    ]
    # The same layer read as a rootful mount: user.* xattrs mean nothing, /data only gained a file.
    assert Change("C", "/data", "dir", replaced=True) not in changes(
        walk_layer(upper, Overlay()), LowerView([lower], Overlay())
    )


@needs_root
def test_xattr_whiteouts_count_only_in_directories_marked_x(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    write(lower / "d" / "f")
    write(lower / "e" / "f")
    opaque(upper / "d", b"x")  # "may hold xattr whiteouts", not opaque
    for d in ("d", "e"):
        (upper / d).mkdir(exist_ok=True)
        (upper / d / "f").touch()
        os.setxattr(upper / d / "f", "trusted.overlay.whiteout", b"")
        copy_dir_times(lower / d, upper / d)
    got = changes(walk_layer(upper, Overlay()), LowerView([lower], Overlay()))
    assert got == [
        Change("C", "/d", "dir"),
        Change("D", "/d/f", "file"),
        Change("C", "/e/f", "file"),  # an empty file: its xattr counts nowhere but under "x"
    ]


def test_aufs_whiteout_files_and_opaque_marker(tmp_path: Path) -> None:
    image, rw = tmp_path / "image", tmp_path / "rw"
    for rel in ("etc/passwd", "etc/shadow", "srv/a", "srv/b", "usr/bin/tool"):
        write(image / rel)
    write(image / "usr" / ".wh.lib")  # an image layer's own deletion: /usr/lib never existed below it
    write(rw / ".wh..wh.aufs", "")  # AuFS's bookkeeping at the branch root
    (rw / ".wh..wh.plnk").mkdir()
    (rw / ".wh..wh.orph").mkdir()
    write(rw / "etc" / ".wh.shadow", "")
    write(rw / "etc" / "passwd", "changed")
    write(rw / "srv" / ".wh..wh..opq", "")
    write(rw / "srv" / "c", "new")
    for d in ("etc", "srv"):
        os.utime(rw / d, ns=(0, 0))
    got = changes(walk_layer(rw, Aufs()), LowerView([image], Aufs()))
    assert got == [
        Change("C", "/etc", "dir"),
        Change("C", "/etc/passwd", "file"),
        Change("D", "/etc/shadow", "file"),
        Change("C", "/srv", "dir", replaced=True),
        Change("D", "/srv/a", "file"),
        Change("D", "/srv/b", "file"),
        Change("A", "/srv/c", "file"),
    ]
    assert LowerView([image], Aufs()).children("/usr") == ["bin"]


def test_aufs_branches_from_sysfs_top_first(tmp_path: Path) -> None:
    si = tmp_path / "si_5a3c7b1b2d4e6f80"
    si.mkdir()
    branches = {0: "/var/lib/docker/aufs/diff/c0ffee=rw", 1: "/var/lib/docker/aufs/diff/c0ffee-init=ro+wh"}
    branches |= {n: f"/var/lib/docker/aufs/diff/layer{n}=ro+wh" for n in range(2, 12)}
    for n, text in branches.items():
        (si / f"br{n}").write_text(text + "\n")
        (si / f"brid{n}").write_text(f"{n + 100}\n")
    (si / "xi_path").write_text("/dev/shm/.xino\n")
    got = aufs_branches(tmp_path, "5a3c7b1b2d4e6f80")
    assert got[:3] == [
        ("/var/lib/docker/aufs/diff/c0ffee", "rw"),
        ("/var/lib/docker/aufs/diff/c0ffee-init", "ro+wh"),
        ("/var/lib/docker/aufs/diff/layer2", "ro+wh"),
    ]
    assert got[-1] == ("/var/lib/docker/aufs/diff/layer11", "ro+wh") and len(got) == 12


def test_layer_size_counts_hard_links_once_and_not_directories(tmp_path: Path) -> None:
    write(tmp_path / "a" / "one", "12345")
    write(tmp_path / "b", "123")
    os.link(tmp_path / "b", tmp_path / "a" / "b-again")
    os.symlink("one", tmp_path / "a" / "link")  # 3 bytes: its target's length
    assert tree_size(tmp_path) == (5 + 3 + 3, 3)


# -- bounds ----------------------------------------------------------------------------------------


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def deep(tmp_path: Path) -> Iterator[Path]:
    """A layer 1,100 directories deep: deeper than Python's recursion limit (rmtree's too)."""
    top = tmp_path / "upper"
    subprocess.run(["mkdir", "-p", "/".join([str(top), *["d"] * 1100])], check=True)
    yield top
    subprocess.run(["rm", "-rf", str(top)], check=True)


def test_a_layer_deeper_than_the_bound_ends_the_walk_without_recursion(deep: Path) -> None:
    before = open_fds()
    with pytest.raises(TooLarge, match=r"^deeper than 256 directories, at /d/d/d/d/d.*…$"):
        list(walk_layer(deep, Overlay()))
    with pytest.raises(TooLarge, match=r"^deeper than 256 directories"):
        tree_size(deep)
    assert open_fds() == before  # every directory the walk opened is closed again
    assert len(list(walk_layer(deep, Overlay(), max_depth=1100))) == 1100
    assert tree_size(deep, max_depth=1100) == (0, 0)


def test_a_layer_with_more_entries_than_the_bound_ends_the_walk(tmp_path: Path) -> None:
    for n in range(12):
        write(tmp_path / "d" / f"f{n}")
    with pytest.raises(TooLarge, match=r"^more than 10 entries$"):
        list(walk_layer(tmp_path, Overlay(), max_entries=10))
    with pytest.raises(TooLarge, match=r"^more than 10 entries$"):
        tree_size(tmp_path, max_entries=10)
    assert tree_size(tmp_path, max_entries=13) == (12, 12)


def test_a_walk_follows_no_symlink_inside_the_layer(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "secret", "12345")
    layer = tmp_path / "layer"
    layer.mkdir()
    (layer / "etc").symlink_to(outside)  # a container's own symlink, to where it points on the host
    assert [(e.path, e.type) for e in walk_layer(layer, Overlay())] == [("/etc", "symlink")]
    assert tree_size(layer) == (len(str(outside)), 1)
    with LowerView([layer], Overlay()) as view:
        assert view.lookup("/etc/secret") is None and view.children("/etc") == []


@needs_root
def test_every_directory_above_an_addition_or_deletion_is_changed(tmp_path: Path) -> None:
    """docker diff on `touch /usr/sbin/newfile; rm /usr/bin/wc`: /usr too, though copied up unchanged."""
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for rel in ("usr/bin/wc", "usr/bin/ls", "usr/sbin/ip", "usr/lib/x/y"):
        write(lower / rel)
    for d in ("usr", "usr/sbin", "usr/bin", "usr/lib", "usr/lib/x"):
        (upper / d).mkdir(parents=True, exist_ok=True)
    write(upper / "usr" / "sbin" / "newfile")
    whiteout(upper / "usr" / "bin" / "wc")
    write(upper / "usr" / "lib" / "x" / "y", "rewritten")  # a change marks no directory above it
    for d in ("usr", "usr/sbin", "usr/bin", "usr/lib", "usr/lib/x"):
        copy_dir_times(lower / d, upper / d)
    got = changes(walk_layer(upper, Overlay()), LowerView([lower], Overlay()))
    assert got == [
        Change("C", "/usr", "dir"),
        Change("C", "/usr/bin", "dir"),
        Change("D", "/usr/bin/wc", "file"),
        Change("C", "/usr/lib/x/y", "file"),
        Change("C", "/usr/sbin", "dir"),
        Change("A", "/usr/sbin/newfile", "file"),
    ]
