#!/bin/bash
# .ci/v2vm/run.sh CMD [ARGS...]: run one command on a pure cgroup v2 kernel.
#
# Boots a throwaway QEMU guest (Debian's stock kernel, busybox initramfs, cgroup_no_v1=all) whose only
# hierarchy is cgroup2 at /sys/fs/cgroup with "+cpuset +cpu +io +memory +pids" enabled at the root. CMD runs
# as root in the root cgroup, chrooted into this machine's / (shared read-only over 9p under a tmpfs overlay:
# writes succeed and are discarded), in the caller's directory and exported environment, with the directory
# of the host's python3 (its sys.executable, not a pyenv shim) first on PATH and PYTHONDONTWRITEBYTECODE=1.
# Prints CMD's output (stdout and stderr merged) and exits with its status; 125 if the guest failed, with
# the tail of its console log on stderr. The first run builds the kernel and initramfs (build-initramfs.sh).
# Knobs: V2VM_DIR (cache, /var/tmp/cgscope-v2vm)  V2VM_PYTHON (interpreter, default: the host's python3)
#        V2VM_MEM (2G)  V2VM_SMP (nproc)  V2VM_TIMEOUT (1200 s)  V2VM_KEEP=1 (keep run dir)
set -uo pipefail
[ $# -ge 1 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
export V2VM_DIR=${V2VM_DIR:-/var/tmp/cgscope-v2vm}
D=$V2VM_DIR
mkdir -p "$D" && flock "$D/.lock" bash "$HERE/build-initramfs.sh" >&2 ||
  { echo "v2vm: building the guest kernel and initramfs failed" >&2; exit 125; }

PY=${V2VM_PYTHON:-$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)}
T=$(mktemp -d "$D/run.XXXXXX") || exit 125
trap '[ -n "${V2VM_KEEP:-}" ] || rm -rf "$T"' EXIT
{
  for v in $(compgen -e); do
    case $v in PWD | OLDPWD | SHLVL | _ | TERM | V2VM_*) ;; *) printf 'export %s=%q\n' "$v" "${!v}" ;; esac
  done
  [ -z "$PY" ] || printf 'export PATH=%q\n' "${PY%/*}:$PATH"
  printf 'export TERM=dumb V2VM=1 PYTHONDONTWRITEBYTECODE=%q\n' "${PYTHONDONTWRITEBYTECODE:-1}"
  printf 'cd %q || exit 125\nexec' "$PWD"
  printf ' %q' "$@"
  echo
} > "$T/cmd"

timeout -k 5 "${V2VM_TIMEOUT:-1200}" qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot \
  -accel tcg,thread=multi -cpu max -m "${V2VM_MEM:-2G}" -smp "${V2VM_SMP:-$(nproc)}" \
  -kernel "$D/vmlinuz" -initrd "$D/initramfs.cpio.gz" -append "console=ttyS0 loglevel=4 panic=-1 cgroup_no_v1=all" \
  -serial "file:$T/console.log" \
  -device virtio-serial-pci -chardev stdio,id=out,signal=off -device virtconsole,chardev=out \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,multidevs=remap,readonly=on \
  -virtfs "local,path=$T,mount_tag=ctl,security_model=none" < /dev/null
qrc=$?
[ -s "$T/rc" ] && exit "$(cat "$T/rc")"
[ $qrc = 124 ] && why="timed out after ${V2VM_TIMEOUT:-1200} s" || why="reported no exit status (qemu: $qrc)"
echo "v2vm: the guest $why; end of its console log:" >&2
sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' "$T/console.log" 2>/dev/null | tail -40 >&2
exit 125
