#!/bin/sh
# /init of the v2vm initramfs (busybox). Overlays a tmpfs on this machine's / (9p tag "hostroot", read-only),
# mounts a pure cgroup v2 hierarchy at /sys/fs/cgroup with the controllers enabled at its root, runs
# run.sh's script (9p tag "ctl", file "cmd") chrooted there with its output on /dev/hvc0, writes its exit
# status to ctl/rc and powers off. Any failure powers off without writing rc: run.sh then reports 125.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
die() { echo "v2vm init: $*" > /dev/console; poweroff -f; }

for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console \
         netfs fscache 9pnet 9pnet_virtio 9p overlay; do
  insmod /lib/modules/$m.ko || die "insmod $m failed"
done
P9=trans=virtio,version=9p2000.L,msize=524288
mkdir -p /mnt/lower /mnt/rw /mnt/ctl /newroot
mount -t 9p -o $P9,ro,cache=loose hostroot /mnt/lower || die "9p mount of hostroot failed"
mount -t 9p -o $P9 ctl /mnt/ctl || die "9p mount of ctl failed"
mount -t tmpfs -o size=50% tmpfs /mnt/rw && mkdir /mnt/rw/upper /mnt/rw/work
mount -t overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /newroot ||
  die "overlay mount failed"

R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
# A fresh /run hides the host's runtime state; /tmp stays the host's (a checkout may live there), writable
# through the overlay like the rest.
mount -t tmpfs tmpfs $R/dev/shm
mount -t tmpfs tmpfs $R/run
mount -t cgroup2 -o nsdelegate cgroup2 $R/sys/fs/cgroup || die "cgroup2 mount failed"
echo "+cpuset +cpu +io +memory +pids" > $R/sys/fs/cgroup/cgroup.subtree_control ||
  die "enabling controllers failed"
mkdir $R/run/v2vm && mount --bind /mnt/ctl $R/run/v2vm
hostname v2vm

i=0; while [ ! -e /dev/hvc0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /dev/hvc0 ] || die "no /dev/hvc0"
stty -onlcr -echo < /dev/hvc0
echo "v2vm init: running the command at uptime $(cut -d' ' -f1 /proc/uptime) s" > /dev/console
chroot $R /bin/bash /run/v2vm/cmd < /dev/null > /dev/hvc0 2>&1
echo $? > /mnt/ctl/rc
sync
poweroff -f
