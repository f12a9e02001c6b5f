#!/usr/bin/env bash
# Builds (once) the Xen test host's base: a Debian 12 dom0 root disk with Xen 4.17, its tools, a kernel and Java,
# only from Debian packages. Cached under $VMRDMA_XEN_CACHE (default /var/cache/vmrdma/xen-host) in a directory
# named by a hash of this script and dom0/init.sh, so it is rebuilt exactly when they change; the project's own
# files go on a second disk each run (payload.sh), never into this image.
#
#   scripts/xen-host/image.sh     prints the base directory on its last line:
#     rootfs.img            dom0's root disk (ext4, used read-only through QEMU's snapshot mode)
#     xen                   the hypervisor, gunzipped (QEMU's multiboot loader needs it uncompressed)
#     vmlinuz               the kernel dom0 boots;  vmlinux: the same kernel decompressed, for PV domUs
#     dom0-initrd.cpio.gz   busybox + virtio-blk + ext4 modules: mounts the root disk and switches to it
#     domU/                 what every guest's initramfs needs from Debian: busybox, Xen device modules, glibc, libxen*
# Needs root and the Debian mirror (deb.debian.org); about 3 minutes on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${VMRDMA_XEN_CACHE:-/var/cache/vmrdma/xen-host}
mirror=${VMRDMA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
key=$(cat "$here/image.sh" "$here/dom0/init.sh" | sha256sum | cut -c1-16)
out=$cache/base-$key
if [ -f "$out/complete" ]; then echo "$out"; exit 0; fi

"$here/../ensure-packages.sh" debootstrap cpio e2fsprogs xz-utils python3 busybox-static
rm -rf "$out.tmp"; mkdir -p "$out.tmp"
cd "$out.tmp"
root=$PWD/root
step() { echo "xen-host image: $* ($(date +%T))" >&2; }

step "debootstrap bookworm (Xen 4.17, kernel, Java 17, OpenSSH client)"
debootstrap --variant=minbase \
    --include=kmod,linux-image-amd64,xen-hypervisor-4.17-amd64,xen-utils-4.17,xenstore-utils,iproute2,procps,busybox-static,openjdk-17-jre-headless,openssh-client \
    bookworm "$root" "$mirror" > debootstrap.log 2>&1 || { tail -20 debootstrap.log >&2; exit 1; }
cat > "$root/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
step "security and point-release updates"
mount -t proc proc "$root/proc"; trap 'umount "$root/proc" 2>/dev/null || true' EXIT
chroot "$root" apt-get update -qq
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -y -qq dist-upgrade > upgrade.log 2>&1
kver=$(chroot "$root" linux-version list | chroot "$root" linux-version sort | tail -1)
for old in $(chroot "$root" linux-version list | grep -vx "$kver"); do
    DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -y -qq purge "linux-image-$old" >> upgrade.log 2>&1
done
chroot "$root" apt-get clean
umount "$root/proc"; trap - EXIT

step "dom0 configuration (kernel $kver)"
echo dom0 > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdom0\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
echo '/dev/vda / ext4 rw,noatime 0 1' > "$root/etc/fstab"
grep -q '^XENCONSOLED_ARGS=' "$root/etc/default/xen" 2>/dev/null \
    || echo 'XENCONSOLED_ARGS="--log=guest --timestamp=guest"' >> "$root/etc/default/xen"
install -D -m 755 "$here/dom0/init.sh" "$root/sbin/vmrdma-test-init"
zcat "$root"/boot/xen-4.17-amd64.gz > xen
cp "$root/boot/vmlinuz-$kver" vmlinuz
# PV domUs boot much faster from a decompressed kernel (xl create: about 2 s instead of 5 under emulation).
python3 - "$root/boot/vmlinuz-$kver" vmlinux <<'PY'
import lzma, sys
image = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(lzma.LZMADecompressor().decompress(image[image.find(b'\xfd7zXZ\x00'):]))
PY

step "initrds"
mods=$root/lib/modules/$kver/kernel
mkdir -p initrd/{bin,m,proc,sys,dev,newroot}
cp "$root/bin/busybox" initrd/bin/
for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
    drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk lib/crc16 fs/mbcache \
    fs/jbd2/jbd2 crypto/crc32c_generic fs/ext4/ext4; do
    cp "$mods/$m.ko" initrd/m/
done
cat > initrd/init <<'INIT'
#!/bin/busybox sh
# Loads virtio-blk and ext4, mounts the root disk and hands over to init= (the test's PID 1).
b=/bin/busybox
$b mount -t proc proc /proc; $b mount -t sysfs sys /sys; $b mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk crc16 mbcache jbd2 \
    crc32c_generic ext4; do $b insmod /m/$m.ko || echo "initrd: insmod $m failed"; done
init=/sbin/init
for a in $($b cat /proc/cmdline); do case $a in init=*) init=${a#init=};; esac; done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do $b sleep 0.05; i=$((i+1)); done
$b mount -t ext4 -o rw,noatime /dev/vda /newroot || { echo "initrd: cannot mount /dev/vda"; $b poweroff -f; }
$b umount /proc /sys; $b mount --move /dev /newroot/dev
exec $b switch_root /newroot "$init"
INIT
chmod 755 initrd/init
(cd initrd && find . | cpio -o -H newc --quiet | gzip -1) > dom0-initrd.cpio.gz

mkdir -p domU/{bin,m,lib64,lib/x86_64-linux-gnu}
cp "$root/bin/busybox" domU/bin/
cp "$mods"/drivers/xen/xen-evtchn.ko "$mods"/drivers/xen/xen-gntalloc.ko "$mods"/drivers/xen/xen-gntdev.ko domU/m/
cp -L "$root/lib64/ld-linux-x86-64.so.2" domU/lib64/
# libgcc_s: glibc loads it for pthread_cancel/unwinding, which the C library's threads can reach.
for l in libc.so.6 libm.so.6 libgcc_s.so.1 libxengnttab.so.1 libxenevtchn.so.1 libxenstore.so.4 libxentoollog.so.1 \
    libxentoolcore.so.1; do
    cp -L "$root/lib/x86_64-linux-gnu/$l" domU/lib/x86_64-linux-gnu/
done

step "root disk"
mkfs.ext4 -q -F -L dom0root -d "$root" rootfs.img 3G
rm -rf "$root" initrd
echo "$kver" > kernel-version
touch complete
rm -rf "$out"; mv "$out.tmp" "$out"
step "done: $out"
echo "$out"
