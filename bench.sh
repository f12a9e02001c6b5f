#!/usr/bin/env bash
# The one entry to every vmrdma benchmark (docs/performance.md#running-the-benchmarks): measures vmrdma against its
# peers and the limits, side by side.
#
#   ./bench.sh            full run: rebuild, 3 interleaved rounds, all sizes (about 30 minutes on 2 cores)
#   ./bench.sh --quick    1 round, fewer sizes, reuses installed artifacts when present (under 10 minutes)
#   options: --rounds N, --build (force mvn install), --no-build, --no-docs (results.json only)
#   ./bench.sh --jmh [REGEX] [JMH OPTIONS]
#                         one or more JMH micro benchmarks of benchmarks/ (engine, schedulers, frame authentication,
#                         the simulator's grant map and notify), e.g. --jmh 'GrantMap|NotifyWake' -f 1 -i 3; no root
#   ./bench.sh --soak     an hour of traffic, guest churn and a hostile injector; checks resources stay flat
#                         (scripts/soak.sh: --minutes N, --sample-seconds S)
#
# Writes target/bench/results.json (every figure by key, machine, commit, date; the raw JSON of every harness run is
# kept in target/bench/raw/), docs/bench-results.md and docs/img/bench-*.png. Needs root (network namespaces,
# cgroups, tc). Holds /tmp/vmrdma-build.lock for the whole run, so no build runs beside a measurement.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
ROOT=$(pwd)

# The soak measures resources over an hour, not speed: it runs without the build lock.
if [ "${1:-}" = --soak ]; then
    shift
    exec "$ROOT/scripts/soak.sh" "$@"
fi

LOCK=/tmp/vmrdma-build.lock
if [ -z "${VMRDMA_BENCH_LOCKED:-}" ] && command -v flock >/dev/null; then
    echo "[bench] taking the build lock $LOCK (waits while a build or another benchmark holds it)"
    export VMRDMA_BENCH_LOCKED=1
    exec flock "$LOCK" "$0" "$@"
fi

# JMH micro benchmarks: the shaded jar of benchmarks/, built when missing (or with --build first), run as asked.
if [ "${1:-}" = --jmh ]; then
    shift
    if [ "${1:-}" = --build ] || [ ! -f benchmarks/target/benchmarks.jar ]; then
        [ "${1:-}" = --build ] && shift
        source scripts/java-env.sh >/dev/null 2>&1 || true
        echo "[bench] building the JMH suite: mvn -Pbench -pl benchmarks -am package"
        mvn -B -o -q -Pbench -pl benchmarks -am package -DskipTests
    fi
    exec java -jar benchmarks/target/benchmarks.jar "$@"
fi

QUICK=0; ROUNDS=""; BUILD=auto; DOCS=1
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --build) BUILD=yes ;;
        --no-build) BUILD=no ;;
        --no-docs) DOCS=0 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done

if [ "$(id -u)" -ne 0 ]; then
    echo "[bench] needs root: network namespaces, veth, tc and cgroups" >&2
    exit 1
fi

START=$(date +%s)
say() { printf '[bench %4ds] %s\n' $(( $(date +%s) - START )) "$*"; }
if [ "$QUICK" = 1 ]; then
    : "${ROUNDS:=1}"
    INTRA_SIZES=4096,65536,1048576,4194304; INTRA_WARM=1; INTRA_MEAS=2
    VETH_SIZES=4096,65536,1048576; VETH_SECONDS=1.5; IPERF_SECONDS=3; LAT_SIZES=8,4096
    WIRE_GUESTS=1,4,16,64; WIRE_SECONDS=2
    [ "$BUILD" = auto ] && BUILD=missing
else
    : "${ROUNDS:=3}"
    INTRA_SIZES=64,4096,65536,1048576,4194304; INTRA_WARM=2; INTRA_MEAS=3
    VETH_SIZES=4096,65536,1048576,4194304; VETH_SECONDS=2; IPERF_SECONDS=5; LAT_SIZES=8,64,512,4096
    WIRE_GUESTS=1,2,4,8,16,32,64; WIRE_SECONDS=3
    [ "$BUILD" = auto ] && BUILD=yes
fi

OUT=$ROOT/target/bench
RAW=$OUT/raw
rm -rf "$RAW"; mkdir -p "$RAW"
LOG=$OUT/bench.log
: > "$LOG"
say "log: $LOG; rounds: $ROUNDS; quick: $QUICK; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
cut -d' ' -f1-3 /proc/loadavg > "$RAW/load-start.txt"

# --- tools -----------------------------------------------------------------------------------------------------
say "Debian tools: iperf3 qperf gnuplot-nox, Open MPI and NetPIPE, libfabric"
"$ROOT/scripts/ensure-packages.sh" iperf3 qperf gnuplot-nox iproute2 openmpi-bin netpipe-openmpi libfabric-dev \
    libfabric-bin >>"$LOG" 2>&1
if [ -f "$ROOT/scripts/java-env.sh" ]; then
    # shellcheck disable=SC1091
    source "$ROOT/scripts/java-env.sh" >/dev/null 2>&1 || true
fi

# builds may fetch what the local repository lacks (Aeron, the first time); measurements run offline
mvn_build() { mvn -B -o -q "$@" >>"$LOG" 2>&1 || mvn -B -q "$@" >>"$LOG" 2>&1; }
mvn_() { mvn -B -o -q "$@"; }

# --- build what is missing ----------------------------------------------------------------------------------------
M2=${MAVEN_REPO:-$HOME/.m2/repository}
VERSION=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' pom.xml | head -1)
installed() { [ -d "$M2/io/vmrdma/vmrdma-karaf/$VERSION" ] && [ -d "$M2/io/vmrdma/io.vmrdma.guest/$VERSION" ] \
    && [ -d "$M2/io/vmrdma/io.vmrdma.nic.packet/$VERSION" ] && [ -d "$M2/io/vmrdma/io.vmrdma.sched.drr/$VERSION" ] \
    && [ -f "karaf-assembly/target/vmrdma-karaf-$VERSION.tar.gz" ]; }  # SchedulingSharesBenchIT boots this one
if [ "$BUILD" = yes ] || { [ "$BUILD" = missing ] && ! installed; }; then
    say "building: mvn install -DskipTests (the distribution and the bundles the harnesses use)"
    mvn_build install -DskipTests || { say "build failed, see $LOG"; exit 1; }
elif ! installed; then
    say "vmrdma $VERSION is not installed in $M2 and --no-build was given"; exit 1
else
    say "reusing vmrdma $VERSION installed in $M2 (--build rebuilds)"
fi
if [ "$BUILD" = yes ] || [ ! -f native/build/plain/libfabric/libvmrdma-fi.so ]; then
    say "building native/ (the MPI rows run the libfabric provider and vmrdma-mpirun from native/build/plain)"
    { cmake -S native -B native/build/plain && cmake --build native/build/plain -j2; } >>"$LOG" 2>&1 \
        || { say "native build failed, see $LOG"; exit 1; }
fi
if [ "$BUILD" = yes ] || [ ! -f benchmarks/target/benchmarks.jar ]; then
    say "building the JMH suite: mvn -Pbench -pl benchmarks -am package"
    mvn_build -Pbench -pl benchmarks -am package -DskipTests || { say "benchmarks build failed, see $LOG"; exit 1; }
fi

# --- harnesses ------------------------------------------------------------------------------------------------------
cleanup() {
    # The harnesses remove their namespaces and cgroups themselves; after an interrupted run, remove the CPU
    # accounting groups (named vmrdma-bench-<pid>, made only by VethBenchmarkTest) whose JVM is gone. Namespaces
    # are left alone: other engineers' tests make namespaces with the same prefix.
    for cg in /sys/fs/cgroup/cpuacct/vmrdma-bench-*; do
        [ -d "$cg" ] || continue
        # A pid that is not a positive number is no JVM of ours ("kill -0 0" would test our own process group).
        [[ "${cg##*-}" =~ ^[1-9][0-9]*$ ]] && kill -0 "${cg##*-}" 2>/dev/null && continue
        for t in "$cg"/*/tasks; do
            while read -r tid; do echo "$tid" > /sys/fs/cgroup/cpuacct/tasks 2>/dev/null || true; done < "$t"
        done
        rmdir "$cg"/* "$cg" 2>/dev/null || true
    done
}
trap cleanup EXIT

run_step() { # name, command...
    local name=$1; shift
    local t0; t0=$(date +%s)
    if "$@" >>"$LOG" 2>&1; then
        say "  $name done in $(( $(date +%s) - t0 )) s"
    else
        say "  $name FAILED (see $LOG); continuing"
    fi
}

veth() { # out, extra properties...
    local out=$1; shift
    mvn_ test -pl bundles/nic-packet -Dtest=VethBenchmarkTest -Dsurefire.failIfNoSpecifiedTests=false \
        -Dvmrdma.bench=true -Dvmrdma.bench.out="$out" -Dvmrdma.bench.seconds=$VETH_SECONDS \
        -Dvmrdma.bench.iperf.seconds=$IPERF_SECONDS "$@"
}

for r in $(seq 1 "$ROUNDS"); do
    say "round $r/$ROUNDS: intra-host engine RDMA WRITE, memcpy, Aeron IPC (JMH, interleaved per size)"
    run_step "intra" java -cp benchmarks/target/benchmarks.jar io.vmrdma.benchmarks.BenchSuite \
        "$RAW/intra-$r.json" 1 "$INTRA_SIZES" "$INTRA_WARM" "$INTRA_MEAS"
    say "round $r/$ROUNDS: xen.sim event channel round trip beside a pipe's (EventChannelBenchmarkTest, interleaved)"
    run_step "evtchn" mvn_ test -pl bundles/xen-sim -Dtest=EventChannelBenchmarkTest \
        -Dsurefire.failIfNoSpecifiedTests=false -Dvmrdma.bench=true -Dvmrdma.bench.out="$RAW/evtchn-$r.json"
    say "round $r/$ROUNDS: a VM with 64 MiB registered migrates 5 times while it streams (MigrationPauseBenchmarkTest)"
    run_step "migration" mvn_ test -pl bundles/engine -Dtest=MigrationPauseBenchmarkTest \
        -Dsurefire.failIfNoSpecifiedTests=false -Dvmrdma.bench=true -Dvmrdma.bench.out="$RAW/migration-$r.json"
    say "round $r/$ROUNDS: a simulated guest with 64 MiB registered moves 5 times while it streams (GuestMigrationPauseBenchmarkTest)"
    run_step "guestmigration" mvn_ test -pl bundles/guest -Dtest=GuestMigrationPauseBenchmarkTest \
        -Dsurefire.failIfNoSpecifiedTests=false -Dvmrdma.bench=true -Dvmrdma.bench.out="$RAW/guestmigration-$r.json"
    say "round $r/$ROUNDS: an idle engine on nic.packet, no guests (IdleCpuBenchmarkTest), beside a 1 ms sleeper"
    run_step "idle" mvn_ test -pl bundles/nic-packet -Dtest=IdleCpuBenchmarkTest -Dsurefire.failIfNoSpecifiedTests=false \
        -Dvmrdma.bench=true -Dvmrdma.bench.out="$RAW/idle-$r.json"
    say "round $r/$ROUNDS: guest to guest (GuestBenchmarkTest: guests through the backend, copy beside it)"
    run_step "guest" mvn_ test -pl bundles/guest -Dtest=GuestBenchmarkTest -Dsurefire.failIfNoSpecifiedTests=false \
        -Dvmrdma.bench=true -Dvmrdma.bench.out="$RAW/guest-$r.json"
    say "round $r/$ROUNDS: four processes of one VM against one (ProcessesInOneVmBenchmarkTest, C write_bw)"
    run_step "procs" mvn_ test -pl bundles/guest -Dtest=ProcessesInOneVmBenchmarkTest \
        -Dsurefire.failIfNoSpecifiedTests=false -Dvmrdma.bench=true -Dvmrdma.bench.out="$RAW/procs-$r.json"
    say "round $r/$ROUNDS: emulated 10GbE (tbf 10gbit, MTU 9000): iperf3 then vmrdma, cgroup CPU accounting"
    run_step "emul10g" veth "$RAW/emul10g-$r.json" -Dvmrdma.bench.mtu=9000 -Dvmrdma.bench.tbf=10gbit \
        -Dvmrdma.bench.cpu=true -Dvmrdma.bench.sizes=1048576 -Dvmrdma.bench.qps4=false -Dvmrdma.bench.latsizes=8 \
        -Dvmrdma.bench.auth=on,off
    say "round $r/$ROUNDS: veth MTU 9000 and 65535: iperf3, vmrdma by size, qperf, ping-pong by size"
    run_step "veth" veth "$RAW/veth-$r.json" -Dvmrdma.bench.mtu=9000,65535 -Dvmrdma.bench.cpu=true \
        -Dvmrdma.bench.sizes=$VETH_SIZES -Dvmrdma.bench.latsizes=$LAT_SIZES
    say "round $r/$ROUNDS: MPI NetPIPE between two VMs (one host, two hosts) over vmrdma, beside Open MPI's TCP BTL"
    run_step "mpi" mvn_ test -pl bundles/nic-packet -Dtest=MpiNetpipeBenchmarkTest -Dsurefire.failIfNoSpecifiedTests=false \
        -Dvmrdma.bench=true -Dvmrdma.bench.out="$RAW/mpi-$r.json"
    say "round $r/$ROUNDS: guests across the emulated 10GbE link: guest CPU, $WIRE_GUESTS guests (rr, drr), drr shares"
    run_step "wire" mvn_ test -pl bundles/nic-packet -Dtest=GuestsAcrossLinkBenchmarkTest \
        -Dsurefire.failIfNoSpecifiedTests=false -Dvmrdma.bench=true -Dvmrdma.bench.out="$RAW/wire-$r.json" \
        -Dvmrdma.bench.tbf=10gbit -Dvmrdma.bench.guests=$WIRE_GUESTS -Dvmrdma.bench.seconds=$WIRE_SECONDS
    say "round $r/$ROUNDS: incast: 2, 4, 7 senders through one 10gbit bridge port, congestion control on and off"
    run_step "incast" mvn_ test -pl bundles/nic-packet -Dtest=IncastBenchmarkTest \
        -Dsurefire.failIfNoSpecifiedTests=false -Dvmrdma.bench=true -Dvmrdma.bench.out="$RAW/incast-$r.json"
done

say "scheduling shares in the distribution (SchedulingSharesBenchIT: Karaf, guest processes, console)"
rm -f itests/target/bench/scheduling.json
run_step "scheduling" mvn_ verify -pl itests -Dit.test=SchedulingSharesBenchIT
[ -f itests/target/bench/scheduling.json ] && cp itests/target/bench/scheduling.json "$RAW/scheduling.json"

say "a cluster of three dom0s on a bridge (ClusterIT): console change on one to the last other applying it"
rm -f itests/target/bench/cluster.json
run_step "cluster" mvn_ verify -pl itests -Dit.test=ClusterIT
[ -f itests/target/bench/cluster.json ] && cp itests/target/bench/cluster.json "$RAW/cluster.json"

cut -d' ' -f1-3 /proc/loadavg > "$RAW/load-end.txt"
say "writing target/bench/results.json$( [ $DOCS = 1 ] && echo ', docs/bench-results.md and docs/img/bench-*.png')"
python3 "$ROOT/scripts/bench/report.py" --raw "$RAW" --out "$OUT/results.json" --quick "$QUICK" \
    $( [ $DOCS = 1 ] && echo "--md $ROOT/docs/bench-results.md --img $ROOT/docs/img" )
say "done; load average now $(cat "$RAW/load-end.txt")"
