#!/usr/bin/env bash
# The real-Xen stage: boots a Xen 4.17 host (hypervisor, PV dom0, PV domUs, all from Debian 12 packages) under QEMU's
# software emulation and runs dom0/test.sh in it: Karaf with vmrdma-xen-native in dom0, vmrdma_guest_check in domUs.
# Prints each verdict as it comes and exits 0 only when every check passed.
#
#   scripts/xen-host/run.sh          (after the build: needs karaf-assembly/target/*.tar.gz and native/build/plain)
#
# Environment: VMRDMA_XEN_CACHE (the cached base image, default /var/cache/vmrdma/xen-host), VMRDMA_XEN_TIMEOUT
# (seconds for the whole boot, default 1500), VMRDMA_XEN_OUT (serial log and results, default target/xen-host).
# Emulation, not KVM: this stage checks function, never speed. Uses both cores while it runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${VMRDMA_XEN_OUT:-$repo/target/xen-host}
timeout=${VMRDMA_XEN_TIMEOUT:-1500}
start=$(date +%s)

"$here/../ensure-packages.sh" qemu-system-x86 e2fsprogs openssh-client cpio
base=$(VMRDMA_XEN_CACHE=${VMRDMA_XEN_CACHE:-} "$here/image.sh" | tail -1)
mkdir -p "$out"
rm -rf "$out/results"
echo "xen-host: base image $base; building the payload"
"$here/payload.sh" "$base" "$out/payload.img"

dom0_args="root=/dev/vda rw console=hvc0 earlyprintk=xen loglevel=4 init=/sbin/vmrdma-test-init"
# -cpu max,-smap: with SMAP, TCG faults on IRET to user mode in a PV guest and dom0 dies at once. No AVX: QEMU 7.2's
# new TCG AVX/AVX2 emulation corrupts glibc's vectorised string functions (bash and xl died of heap corruption).
# bootscrub=0: scrubbing 6 GiB of emulated memory at boot costs a minute and 2 GiB more of QEMU's RSS.
xen_args="console=com1 com1=115200,8n1 dom0_mem=3072M,max:3072M dom0_max_vcpus=2 bootscrub=0 loglvl=warning"
qemu=(qemu-system-x86_64 -accel tcg,thread=multi,tb-size=512 -cpu ${VMRDMA_XEN_CPU:-Nehalem} -m 6144 -smp 2 -no-reboot
      -display none -monitor none -serial stdio
      -kernel "$base/xen" -append "$xen_args"
      -initrd "$base/vmlinuz $dom0_args,$base/dom0-initrd.cpio.gz"
      -drive "file=$base/rootfs.img,format=raw,if=virtio,snapshot=on"
      -drive "file=$out/payload.img,format=raw,if=virtio,cache=unsafe")
echo "xen-host: booting Xen under QEMU (TCG); serial console in $out/serial.log"
set +e
timeout --kill-after=10 "$timeout" "${qemu[@]}" < /dev/null 2>&1 | tee "$out/serial.log" \
    | grep --line-buffered -aE '^VMRDMA-XEN|Kernel panic|\(XEN\) \*\*\*|Segmentation|corrupted|BUG|Oops' \
    | while IFS= read -r line; do printf 'xen-host %4ds  %s\n' $(( $(date +%s) - start )) "$line"; done
qemu_status=${PIPESTATUS[0]}
set -e

# The results directory the dom0 test wrote on the payload disk: logs of Karaf and every guest.
mkdir -p "$out/results"
debugfs -R "rdump /results $out" "$out/payload.img" > /dev/null 2>&1 || true

summary=$(grep -a '^VMRDMA-XEN done' "$out/serial.log" | tail -1 || true)
failures=$(grep -ac '^VMRDMA-XEN FAIL' "$out/serial.log" || true)
passes=$(grep -ac '^VMRDMA-XEN ok' "$out/serial.log" || true)
took=$(( $(date +%s) - start ))
if [ -z "$summary" ]; then
    echo "xen-host: FAILED: the dom0 test did not finish (QEMU status $qemu_status after $took s); see $out/serial.log"
    exit 1
fi
if [ "$failures" -ne 0 ] || [ "$passes" -eq 0 ]; then
    echo "xen-host: FAILED: $failures checks failed, $passes passed ($took s); logs in $out/results"
    exit 1
fi
echo "xen-host: all $passes checks passed on Xen 4.17 under QEMU in $took s"
