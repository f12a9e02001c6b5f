#!/usr/bin/env bash
# Builds the payload disk of the Xen test host from this checkout's build output: the Karaf distribution (booting
# vmrdma-xen-native instead of the simulator and demo guests, with an SSH key for the test), the domU initramfs
# (Debian's busybox, modules and libraries from the base image, plus libvmrdma and vmrdma_guest_check), the domU
# kernel and the dom0 test. Made fresh for every run (a few seconds); the base image stays cached.
#   scripts/xen-host/payload.sh BASE_DIR OUT_IMG
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
base=$1 out=$2
tgz=$(ls "$repo"/karaf-assembly/target/vmrdma-karaf-*.tar.gz 2>/dev/null | head -1)
native=$repo/native/build/plain
[ -n "$tgz" ] || { echo "no distribution in karaf-assembly/target: build first (mvn install)" >&2; exit 1; }
[ -x "$native/vmrdma_guest_check" ] || { echo "no native build in $native: build native/ first" >&2; exit 1; }

stage=$(mktemp -d /tmp/vmrdma-xen-payload.XXXXXX)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/dom0" "$stage/domU" "$stage/results"
install -m 755 "$here/dom0/test.sh" "$stage/dom0/"

# Karaf: the product as a Xen host runs it (operations.md): the Xen feature instead of the simulator and demo.
tar xzf "$tgz" -C "$stage"
mv "$stage"/vmrdma-karaf-* "$stage/karaf"
features=$stage/karaf/etc/org.apache.karaf.features.cfg
version=$(sed -n 's|^ *vmrdma/\([^,]*\), *\\$|\1|p' "$features")
[ -n "$version" ] || { echo "cannot find vmrdma/<version> in featuresBoot of $features" >&2; exit 1; }
list=""
for f in engine nic-loopback xen-native sched-rr sched-drr sched-priority sched-shaper metrics shell; do
    list="$list vmrdma-$f/$version,"
done
sed -i "s|^ *vmrdma/$version, *\\\\\$|   $list \\\\|" "$features"
grep -q "vmrdma-xen-native/$version" "$features" || { echo "could not set featuresBoot in $features" >&2; exit 1; }
ssh-keygen -q -t rsa -b 2048 -N '' -C vmrdma-xen-test -f "$stage/dom0/ssh-key"
echo "karaf=$(cut -d' ' -f2 "$stage/dom0/ssh-key.pub"),_g_:admingroup" >> "$stage/karaf/etc/keys.properties"

# domU: kernel and initramfs.
cp "$base/vmlinux" "$stage/domU/vmlinux"
initramfs=$stage/initramfs
cp -a "$base/domU" "$initramfs"
mkdir -p "$initramfs"/{proc,sys,dev,tmp}
cp -L "$native/libvmrdma.so.0" "$initramfs/lib/x86_64-linux-gnu/"
cp "$native/vmrdma_guest_check" "$native/vmrdma_write_lat" "$native/vmrdma_read_bw" "$initramfs/bin/"
install -m 755 "$here/domU/init" "$initramfs/init"
(cd "$initramfs" && find . | cpio -o -H newc --quiet | gzip -1) > "$stage/domU/initramfs.cpio.gz"
rm -rf "$initramfs"

rm -f "$out"
mkfs.ext4 -q -F -L vmrdmatest -d "$stage" "$out" 1G
