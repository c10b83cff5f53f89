"""What `cgscope diff` and `cgscope inspect` cost on a container with a large image and many changes.

Builds, under a temporary directory, an overlay whose lower layer holds N files (100 per directory) and
whose container layer gets N/10 changes made through the mount (a third rewritten, a third added, a third
deleted, so overlayfs writes real copy-ups and whiteouts); starts a process chroot()ed into it in a mount
and pid namespace of its own; then runs `cgscope diff --json`, `cgscope inspect --json` and
`cgscope inspect --json --no-sizes` R times each and prints the median CPU time (user + sys, from wait4)
and wall time, with `du -s --apparent-size` of the lower layer as a reference for the size walk. Needs
root, unshare(1), chroot(8) and a static /bin/busybox. Everything made is removed on exit.

    python bench/bench_diff.py                       # N = 10,000 and 100,000, 5 runs each
    python bench/bench_diff.py --sizes 20000 --repeat 9
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

BUSYBOX = Path("/bin/busybox")


def run_timed(argv: list[str]) -> tuple[float, float]:
    """(CPU seconds of the child, wall seconds); the command must succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise RuntimeError(f"{' '.join(argv)} failed: {err.strip()}")
    if proc.stderr:
        proc.stderr.close()
    return usage.ru_utime + usage.ru_stime, wall


@contextlib.contextmanager
def container(base: Path, files: int) -> Iterator[tuple[int, Path]]:
    """(pid of a process chroot()ed into the overlay, lower layer)."""
    lower, upper, work, merged = (base / n for n in ("lower", "upper", "work", "merged"))
    for d in (lower / "bin", upper, work, merged):
        d.mkdir(parents=True)
    shutil.copy2(BUSYBOX, lower / "bin" / "busybox")
    for i in range(files):
        d = lower / "data" / f"d{i // 100:05d}"
        if i % 100 == 0:
            d.mkdir(parents=True)
        (d / f"f{i:07d}").write_bytes(b"x" * (i % 512))
    subprocess.run(
        [
            "mount",
            "-t",
            "overlay",
            "overlay",
            "-o",
            f"lowerdir={lower},upperdir={upper},workdir={work}",
            merged,
        ],
        check=True,
    )
    proc = None
    try:
        for i in range(0, files, 10):  # a tenth of the files change, through the mount
            path = merged / "data" / f"d{i // 100:05d}" / f"f{i:07d}"
            if i % 30 == 0:
                path.write_bytes(b"rewritten")
            elif i % 30 == 10:
                path.with_name(path.name + ".new").write_bytes(b"added")
            else:
                path.unlink()
        proc = subprocess.Popen(
            ["unshare", "--mount", "--pid", "--fork", "chroot", str(merged), "/bin/busybox", "sleep", "1000"],
            stderr=subprocess.DEVNULL,  # unshare complains when its child is killed
        )
        deadline = time.monotonic() + 10
        while True:
            kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            if kids and os.readlink(f"/proc/{kids[0]}/root").endswith(str(merged)):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the chroot()ed process did not start")
            time.sleep(0.01)
        yield int(kids[0]), lower
    finally:
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                for kid in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split():
                    os.kill(int(kid), signal.SIGKILL)  # the pid namespace's init: all of it ends
            proc.wait(10)
        subprocess.run(["umount", merged], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="lower-layer file counts (comma-separated)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0 or not BUSYBOX.exists() or not shutil.which("unshare"):
        print("needs root, unshare(1) and a static /bin/busybox", file=sys.stderr)
        return 2
    cgscope = [sys.executable, "-m", "cgscope"]
    print(f"{'N':>8} {'command':<34} {'CPU s':>8} {'wall s':>8}")
    for n in (int(s) for s in args.sizes.split(",")):
        with (
            tempfile.TemporaryDirectory(prefix="cgscope-bench-") as tmp,
            container(Path(tmp), n) as (pid, lower),
        ):
            commands = {
                "cgscope diff --json": [*cgscope, "diff", str(pid), "--json"],
                "cgscope inspect --json": [*cgscope, "inspect", str(pid), "--json"],
                "cgscope inspect --json --no-sizes": [*cgscope, "inspect", str(pid), "--json", "--no-sizes"],
                "du -s --apparent-size (lower)": ["du", "-s", "--apparent-size", str(lower)],
            }
            runs: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
            for argv in commands.values():
                run_timed(argv)  # warm-up: caches filled alike for every command
            for _ in range(args.repeat):
                for label, argv in commands.items():
                    runs[label].append(run_timed(argv))
            for label, samples in runs.items():
                cpu = statistics.median(s[0] for s in samples)
                wall = statistics.median(s[1] for s in samples)
                print(f"{n:>8} {label:<34} {cpu:>8.3f} {wall:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
