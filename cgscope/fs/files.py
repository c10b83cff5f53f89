"""Opening kernel files: one place that reads them whole and maps OS errors to cgscope's domain errors.

Files are read as bytes and decoded with surrogateescape: paths, process names and command lines are
whatever bytes users chose (a FUSE mount point, a USB stick's label), and an undecodable byte must never
stop a read. The decoding is lossless (os.fsencode gives the bytes back); parsers see text in which only
ASCII means anything to them.
"""

from __future__ import annotations

import errno
import os
import resource
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from cgscope.errors import AccessDenied, ProcessGone

# A pid directory or a cgroup directory that disappears under us: the file is gone (ENOENT), the task
# has exited (ESRCH, e.g. readlink of /proc/PID/ns/* during exit), or the cgroup was removed while a
# file was open (ENODEV).
GONE_ERRNOS = frozenset({errno.ENOENT, errno.ESRCH, errno.ENODEV, errno.ENOTDIR})
DENIED_ERRNOS = frozenset({errno.EACCES, errno.EPERM})

StrPath = str | os.PathLike[str]
At = tuple[int, str]  # an open directory and a name in it
_CHUNK = 1 << 16


@contextmanager
def reading(path: StrPath) -> Iterator[None]:
    """Turn the OS errors of reading `path` into ProcessGone / AccessDenied naming the file (see
    domain_error)."""
    try:
        yield
    except OSError as exc:
        raise domain_error(exc, path) from None


def domain_error(exc: OSError, path: StrPath) -> Exception:
    """ProcessGone / AccessDenied naming `path` for an OS error of reading it; any other errno as it
    came, with the file named (a read(2)'s error names none). For the paths read thousands of times a
    refresh, where a `with reading()` costs more than the read(2) itself."""
    if exc.errno in GONE_ERRNOS:
        return ProcessGone(f"{os.fspath(path)}: gone while reading")
    if exc.errno in DENIED_ERRNOS:
        return AccessDenied(f"{os.fspath(path)}: permission denied")
    if exc.filename is None:
        exc.filename = os.fspath(path)
    return exc


@dataclass
class Opens:
    """What fs/ asked the kernel for while counting_opens() counted, by path: files read (opened, or
    read again through a descriptor KeptFiles keeps), directories listed, links read. Every read of a
    kernel file, directory or link goes through open_fd, KeptFiles, list_dir or read_link below, so
    these are all of them."""

    files: Counter[str] = field(default_factory=Counter)
    dirs: Counter[str] = field(default_factory=Counter)
    links: Counter[str] = field(default_factory=Counter)

    def total(self) -> int:
        return self.files.total() + self.dirs.total() + self.links.total()


_counting: list[Opens] = []  # the counting_opens() blocks now open, in any thread


@contextmanager
def counting_opens() -> Iterator[Opens]:
    """Count the opens, listings and readlinks of the block (for the tests and bench/ that hold a refresh
    to its cost); attempts count, failed ones too: they cost the same syscall."""
    opens = Opens()
    _counting.append(opens)
    try:
        yield opens
    finally:
        _counting.remove(opens)


def open_fd(path: StrPath, flags: int = os.O_RDONLY | os.O_CLOEXEC, at: At | None = None) -> int:
    """os.open, counted: the one place fs/ opens a file to read it. `at`: (an open directory, a name in
    it) to open relative to that directory (openat(2)) instead of resolving `path`, which names it."""
    for opens in _counting:
        opens.files[os.fspath(path)] += 1
    return os.open(at[1], flags, dir_fd=at[0]) if at is not None else os.open(path, flags)


def list_dir(path: StrPath) -> list[os.DirEntry[str]]:
    """The entries of a directory (os.scandir: each knows its type and inode without a stat), counted."""
    for opens in _counting:
        opens.dirs[os.fspath(path)] += 1
    with os.scandir(path) as it:
        return list(it)


def read_link(path: StrPath, at: At | None = None) -> str:
    """os.readlink, counted; `at` as open_fd's."""
    for opens in _counting:
        opens.links[os.fspath(path)] += 1
    return os.readlink(at[1], dir_fd=at[0]) if at is not None else os.readlink(path)


def child(directory: StrPath, name: str) -> str:
    """The path of `name` in `directory`, as a string: joining Paths costs more than the open(2) of a
    small cgroup file, and a scrape opens thousands."""
    return f"{os.fspath(directory)}/{name}"


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


class KeptFiles:
    """Files read whole kept open from one round to the next and read again from offset 0 (pread(2)), for
    a caller that reads the same cgroup files every few seconds (the exporter): a cgroup interface file
    is a seq_file, printed afresh by each read from offset 0 (seq_read_iter, fs/seq_file.c), and its
    open(2) and close(2) cost more than the read. Active in a thread inside keeping(); round() closes
    the files not read in the round nor in the `keep_seconds` before it. At most `limit` are kept (half
    the soft RLIMIT_NOFILE by default), the next ones opened for each read as without. A kept file of a
    cgroup removed since answers ENODEV (kernfs: its node is no longer active): it is closed and its
    path opened again, which tells whether the cgroup was made again or is gone. Each kept file's
    (st_dev, st_ino) is taken once, when it is opened (file_identity)."""

    def __init__(self, limit: int | None = None, keep_seconds: float = 0.0) -> None:
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        self.limit = limit if limit is not None else 4096 if soft == resource.RLIM_INFINITY else soft // 2
        self.keep_seconds = keep_seconds
        self._fds: dict[str, int] = {}
        self._ids: dict[str, tuple[int, int]] = {}  # each kept file's (st_dev, st_ino), from its open
        self._read_at: dict[str, float] = {}  # each kept file's last read (time.monotonic())
        self._round_at = time.monotonic()  # when the round began (the last one ended)
        weakref.finalize(self, _close_all, self._fds)  # an owner dropped closes them too

    def read(self, path: str) -> bytes:
        fd = self._fds.get(path)
        if fd is not None:
            self._read_at[path] = time.monotonic()
            for opens in _counting:
                opens.files[path] += 1
            try:
                return _pread_whole(fd)
            except OSError:  # removed, perhaps made again: the open below tells
                self._forget(path)
        fd = open_fd(path)
        try:
            data = _pread_whole(fd)
            if len(self._fds) < self.limit:
                st = os.fstat(fd)
                self._fds[path], self._read_at[path] = fd, time.monotonic()
                self._ids[path] = st.st_dev, st.st_ino
                return data
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        return data

    def identity(self, path: str) -> tuple[int, int] | None:
        """The (st_dev, st_ino) of `path` as kept open; None where it is not kept."""
        return self._ids.get(path)

    def round(self) -> None:
        unread = self._round_at - self.keep_seconds
        for path in [p for p, at in self._read_at.items() if at < unread]:
            self._forget(path)
        self._round_at = time.monotonic()

    def _forget(self, path: str) -> None:
        del self._read_at[path], self._ids[path]
        os.close(self._fds.pop(path))

    def close(self) -> None:
        for path in list(self._fds):
            self._forget(path)

    def __len__(self) -> int:
        return len(self._fds)


def _close_all(fds: dict[str, int]) -> None:
    for fd in fds.values():
        os.close(fd)
    fds.clear()


_keeping = threading.local()  # .files: the KeptFiles of this thread's keeping() block


@contextmanager
def keeping(files: KeptFiles) -> Iterator[None]:
    """Files read whole in this thread during the block go through `files`; its round() ends it."""
    _keeping.files = files
    try:
        yield
    finally:
        _keeping.files = None
        files.round()


def _pread_whole(fd: int) -> bytes:
    """A file read whole from offset 0 (see _read_all's `whole`)."""
    data = os.pread(fd, _CHUNK, 0)
    if len(data) < _CHUNK:  # the common case: the whole file in one read
        return data
    chunks, offset = [data], len(data)
    while chunk := os.pread(fd, _CHUNK, offset):
        chunks.append(chunk)
        offset += len(chunk)
        if len(chunk) < _CHUNK:
            break
    return b"".join(chunks)


def _read_all(path: StrPath, at: At | None = None, whole: bool = False) -> bytes:
    """The whole file by bare read(2)s: kernel files are generated per read, and a buffered open()
    costs twice as much as the reads themselves (a scan reads four or five files per process).

    `whole`: the kernel prints the file in one go — a cgroup interface file other than cgroup.procs,
    cgroup.threads and tasks is one seq_show() (kernfs_seq_start, fs/kernfs/file.c), whose output a
    read(2) returns entire where it fits — so a read that returns less than asked was the whole file,
    and the read(2) that would return 0 is left out. Such a file is read through the KeptFiles of a
    keeping() block, where one is active in this thread."""
    kept: KeptFiles | None = getattr(_keeping, "files", None)
    if kept is not None and whole and at is None:
        return kept.read(os.fspath(path))
    fd = open_fd(path, at=at)
    try:
        chunks = []
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
            if whole and len(chunk) < _CHUNK:
                break
    finally:
        os.close(fd)
    return b"".join(chunks)


def file_identity(path: StrPath) -> tuple[int, int]:
    """(st_dev, st_ino) of a file: of the file a keeping() block keeps open, as it was opened (no
    syscall), else a stat. kernfs gives each cgroup made, and each of its files, a new inode number, and a
    kept file of a removed cgroup is opened again when read (KeptFiles): a cgroup removed and made again
    under the same path is told from the one before by the file just read from it."""
    kept: KeptFiles | None = getattr(_keeping, "files", None)
    known = kept.identity(os.fspath(path)) if kept is not None else None
    if known is not None:
        return known
    try:  # not `with reading()`: asked of every container each refresh, it costs more than the stat
        st = os.stat(path)
    except OSError as exc:
        raise domain_error(exc, path) from None
    return st.st_dev, st.st_ino


def read_bytes(path: StrPath, at: At | None = None, whole: bool = False) -> bytes:
    try:
        return _read_all(path, at, whole)
    except OSError as exc:
        raise domain_error(exc, path) from None


def read_text(path: StrPath, at: At | None = None, whole: bool = False) -> str:
    """The whole file, decoded losslessly (surrogateescape); `at` as open_fd's, `whole` as _read_all's."""
    return decode(read_bytes(path, at, whole))


def read_optional(path: StrPath, whole: bool = False) -> str | None:
    """The file's text, or None where the kernel offers no such file in a directory that exists (a cgroup
    whose controller is not enabled there) or refuses to produce it (PSI switched off: EOPNOTSUPP). A
    directory that was removed raises ProcessGone, as read_text does."""
    try:
        return decode(_read_all(path, whole=whole))
    except OSError as exc:
        if exc.errno == errno.EOPNOTSUPP or (
            exc.errno == errno.ENOENT and os.path.isdir(os.path.dirname(path))
        ):
            return None
        raise domain_error(exc, path) from None
