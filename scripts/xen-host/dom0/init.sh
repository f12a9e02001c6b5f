#!/bin/sh
# PID 1 of the Xen test host's dom0 (kernel argument init=/sbin/vmrdma-test-init): no systemd, no udev, just what
# Xen's tools need. Mounts the payload disk (/dev/vdb: the project's distribution, tools and test) at /srv/vmrdma,
# runs its dom0/test.sh and powers the machine off, which ends QEMU. Everything goes to the serial console.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /srv/vmrdma
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
hostname dom0
ip link set lo up
echo "dom0: userspace up at $(cut -d' ' -f1 /proc/uptime) s"
if mount -t ext4 -o rw,noatime /dev/vdb /srv/vmrdma && [ -x /srv/vmrdma/dom0/test.sh ]; then
    /srv/vmrdma/dom0/test.sh
    echo "dom0: test exited with $?"
else
    echo "VMRDMA-XEN FAIL payload: no /dev/vdb with dom0/test.sh"
fi
sync
umount /srv/vmrdma 2>/dev/null
echo "dom0: powering off"
/bin/busybox poweroff -f
