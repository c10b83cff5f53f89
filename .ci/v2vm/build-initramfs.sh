#!/bin/bash
# Builds $V2VM_DIR/{vmlinuz,initramfs.cpio.gz} for run.sh; does nothing when they are up to date.
# The kernel comes from the .deb that Debian's linux-image-amd64 depends on (unpacked here, never installed);
# the initramfs holds busybox-static, init.sh and the few modules init.sh loads. Installs qemu-system-x86,
# busybox-static and cpio if missing. Needs root and Debian's apt sources.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
D=${V2VM_DIR:-/var/tmp/cgscope-v2vm}
MODS="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
      drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/char/virtio_console
      fs/netfs/netfs fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay"

updated=
apt_update() { [ -n "$updated" ] || apt-get -q -o DPkg::Lock::Timeout=600 update >&2; updated=1; }
# busybox (dynamic) and busybox-static both provide /bin/busybox; the initramfs has no libc, so check the package.
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v cpio >/dev/null ||
   [ "$(dpkg-query -W -f '${Status}' busybox-static 2>/dev/null)" != "install ok installed" ]; then
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 install --no-install-recommends \
    qemu-system-x86 busybox-static cpio >&2
fi

mkdir -p "$D"; cd "$D"
if [ ! -s vmlinuz ] || [ ! -s kernel ]; then
  rm -rf vmlinuz kernel kmod dl; mkdir -p dl/x kmod
  apt_update
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
  [ -n "$pkg" ] || { echo "build-initramfs: no package behind linux-image-amd64" >&2; exit 1; }
  (cd dl && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2)
  dpkg-deb -x dl/*.deb dl/x
  for m in $MODS; do cp dl/x/lib/modules/*/kernel/"$m".ko kmod/; done
  cp dl/x/boot/vmlinuz-* vmlinuz
  basename dl/*.deb > kernel  # written last: marks the kernel and its modules complete
  rm -rf dl
fi

stamp=$(cat "$HERE/init.sh" "$HERE/build-initramfs.sh" kernel | sha256sum)
[ -s initramfs.cpio.gz ] && [ "$(cat stamp 2>/dev/null)" = "$stamp" ] && exit 0
ird=$(mktemp -d "$D/ird.XXXXXX"); trap 'rm -rf "$ird"' EXIT
mkdir -p "$ird"/{bin,dev,proc,sys,mnt,lib/modules}
cp /bin/busybox "$ird/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$ird/bin/$a"; done
cp kmod/*.ko "$ird/lib/modules/"
install -m 755 "$HERE/init.sh" "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) > initramfs.cpio.gz.new
mv initramfs.cpio.gz.new initramfs.cpio.gz
echo "$stamp" > stamp
echo "build-initramfs: $D/initramfs.cpio.gz built for $(cat kernel)" >&2
