#!/usr/bin/env bash
# Builds vmrdma and runs every test: unit and property tests, Pax Exam tests in the real distribution, and the
# native (C) tests, plain and under AddressSanitizer + UndefinedBehaviorSanitizer. Exits non-zero on any failure.
#
#   ./test.sh             the default run (stays within its time budget on 2 cores)
#   ./test.sh --long      property tests with 1000 tries and messages up to 16 MiB (-Dvmrdma.long=true)
#   ./test.sh --xen-only  only the real-Xen stage (builds what it needs first, tests skipped)
#
# The last stage boots Xen 4.17 with a PV dom0 and PV domUs under QEMU (scripts/xen-host/run.sh): the first run
# builds and caches the host image from Debian packages (about 4 minutes, needs the Debian mirror).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/java-env.sh

maven_args=(-B -ntp)
xen_only=false
for arg in "$@"; do
    case "$arg" in
        --long) maven_args+=(-Dvmrdma.long=true -Djqwik.tries.default=1000) ;;
        --xen-only) xen_only=true ;;
        *) echo "usage: ./test.sh [--long] [--xen-only]" >&2; exit 2 ;;
    esac
done

scripts/ensure-packages.sh cmake make gcc pkg-config clang-format xenstore-utils libxenstore4 libxen-dev libxengnttab1 \
    libxenevtchn1 iproute2 libssl3 tshark libfabric-dev libfabric-bin \
    openmpi-bin libopenmpi-dev netpipe-openmpi scalapack-mpi-test
command -v mvn >/dev/null || scripts/ensure-packages.sh maven

start=$(date +%s)
native() {
    local variant=$1 sanitize=OFF dir="native/build/$1"
    [ "$variant" = sanitize ] && sanitize=ON
    cmake -S native -B "$dir" -DVMRDMA_SANITIZE=$sanitize >/dev/null
    cmake --build "$dir" -j2 >/dev/null
    (cd "$dir" && ctest --output-on-failure)
}
xen_stage() {
    echo "== real Xen 4.17 under QEMU: Karaf with vmrdma-xen-native in dom0, C guests in PV domUs"
    scripts/xen-host/run.sh
}
if $xen_only; then
    echo "== build (tests skipped) for the real-Xen stage"
    cmake -S native -B native/build/plain -DVMRDMA_SANITIZE=OFF >/dev/null
    cmake --build native/build/plain -j2 >/dev/null
    mvn "${maven_args[@]}" -q install -DskipTests
    xen_stage
    echo "== the real-Xen stage passed in $(( $(date +%s) - start )) s"
    exit 0
fi

# The plain build comes first: the Java interoperability test (CGuestInteropTest) runs its C guests.
echo "== native: build, ctest"
native plain

echo "== Java: unit, property and Pax Exam tests (with the C/Java interoperability test)"
mvn "${maven_args[@]}" install

echo "== the distribution's C guest package (lib/guest/native): the provider loads from it, the launcher is there"
guest_native=karaf-assembly/target/assembly/lib/guest/native
FI_PROVIDER_PATH=$guest_native/lib/libfabric fi_info -p vmrdma | grep -q 'type: FI_EP_MSG'
test -x "$guest_native/bin/vmrdma-mpirun"

echo "== native: again under ASan + UBSan"
native sanitize
cmake --install native/build/plain --prefix native/build/install >/dev/null
test -f native/build/install/lib/pkgconfig/vmrdma.pc || test -f native/build/install/lib/x86_64-linux-gnu/pkgconfig/vmrdma.pc

# Last, alone: it keeps both cores busy.
xen_stage

echo "== all tests passed in $(( $(date +%s) - start )) s"
