#!/usr/bin/env bash
# A long run of two vmrdma hosts under mixed traffic, guests made and destroyed throughout, and a hostile host on the
# wire beside them; samples each host's JVM every minute and says whether its resources stayed flat (issue 16).
#
#   ./bench.sh --soak [--minutes N] [--sample-seconds S]     (or scripts/soak.sh with the same options)
#
# The hosts are bin/vmrdma-two-hosts' (two network namespaces over veth, nic.packet, frame authentication as
# configured by default). Traffic: vmrdma:bench runs back to back (RDMA WRITE and READ bandwidth, SEND latency), each
# booting a client guest on host A and a server guest on host B and destroying both. The injector
# (scripts/soak/injector.py) sends from host A's end of the wire, beside the engine: replays of captured frames,
# captured frames with bytes flipped, forged source MACs and node ids, random bytes. Samples: heap used after a full
# GC (jcmd), open file descriptors, memory mappings and threads of each host's JVM, taken between two benchmarks. A
# resource stays flat when, from the tenth minute on, the median of the last third of its samples is at most 10 %
# (heap after GC), 5 % (mappings) or 4 (descriptors, threads) above the median of the first third
# (scripts/soak/summary.py); the run passes when all do and no benchmark failed. Writes target/soak/samples.csv and
# target/soak/summary.txt. Needs root and a built distribution; takes no build lock (it measures no speed).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$(pwd)
source scripts/java-env.sh

MINUTES=60; SAMPLE=60
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) MINUTES="$2"; shift ;;
        --sample-seconds) SAMPLE="$2"; shift ;;
        -h|--help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "soak: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[[ "$MINUTES" =~ ^[1-9][0-9]*$ ]] && [[ "$SAMPLE" =~ ^[1-9][0-9]*$ ]] || { echo "soak: minutes and seconds are positive whole numbers" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "soak: needs root (namespaces, raw sockets)" >&2; exit 1; }
DIST=$ROOT/karaf-assembly/target/assembly
[ -x "$DIST/bin/vmrdma-two-hosts" ] || { echo "soak: no distribution at $DIST: run mvn install first" >&2; exit 1; }
scripts/ensure-packages.sh iproute2 python3 >/dev/null

OUT=$ROOT/target/soak
rm -rf "$OUT"; mkdir -p "$OUT"
export VMRDMA_TWO_HOSTS_DIR=$OUT/hosts VMRDMA_TWO_HOSTS_PREFIX=vmrdma-soak EXTRA_JAVA_OPTS="-Duser.home=$OUT/home"
TWO_HOSTS=$DIST/bin/vmrdma-two-hosts
START=$(date +%s)
say() { printf '[soak %5ds] %s\n' $(( $(date +%s) - START )) "$*"; }

children=()
cleanup() {
    for p in "${children[@]:-}"; do
        # Our own background jobs, by the pids bash gave us and only while they are still our children; never a group.
        if [[ "$p" =~ ^[1-9][0-9]*$ ]] && [ "$(cut -d' ' -f4 "/proc/$p/stat" 2>/dev/null)" = "$$" ]; then
            kill "$p" 2>/dev/null || true
        fi
    done
    wait 2>/dev/null || true
    "$TWO_HOSTS" down >>"$OUT/two-hosts.log" 2>&1 || true
}
trap cleanup EXIT

say "two hosts up (log $OUT/two-hosts.log)"
"$TWO_HOSTS" up -n 200 >>"$OUT/two-hosts.log" 2>&1 || { say "two hosts did not come up"; tail -n 20 "$OUT/two-hosts.log"; exit 1; }

# The Karaf JVM of host A or B: the live process whose karaf.base is that host's instance directory.
karaf_pid() {
    local base p
    base=$(cd "$OUT/hosts/$1" && pwd)
    for p in /proc/[1-9]*; do
        p=${p#/proc/}
        if grep -qzxF -- "-Dkaraf.base=$base" "/proc/$p/cmdline" 2>/dev/null \
                && grep -qzxF -- "org.apache.karaf.main.Main" "/proc/$p/cmdline" 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
}

traffic() {
    local tests=("-s 64k -n 3000 write_bw" "-s 1m -n 200 read_bw" "-a -n 500 send_lat" "-s 4k -n 5000 write_bw")
    local i=0
    while true; do
        # While the sampler asks for a pause, no benchmark (and so no guest, no console session) is alive.
        while [ -e "$OUT/pause" ]; do
            touch "$OUT/idle"
            sleep 0.5
        done
        rm -f "$OUT/idle"
        # shellcheck disable=SC2086
        "$TWO_HOSTS" bench ${tests[$((i % ${#tests[@]}))]} >>"$OUT/traffic.log" 2>&1 \
            && echo ok >>"$OUT/traffic.count" || echo failed >>"$OUT/traffic.count"
        i=$((i + 1))
    done
}

traffic &
children+=($!)
ip netns exec vmrdma-soak-a python3 "$ROOT/scripts/soak/injector.py" --interface veth-a --rate 400 \
    >"$OUT/injector.log" 2>&1 &
children+=($!)
say "traffic and injector running; sampling every $SAMPLE s for $MINUTES minutes"

echo "seconds,host,heap_after_gc_kib,fds,mappings,threads" >"$OUT/samples.csv"
# Samples between two benchmarks, when no guest or console session is alive: what stays then is what a leak would
# grow. (Within a benchmark, guests' event channels, the console's SSH threads and mappings come and go.)
sample() {
    local host pid heap waited=0
    touch "$OUT/pause"
    while [ ! -e "$OUT/idle" ] && [ $waited -lt 300 ]; do
        sleep 1
        waited=$((waited + 1))
    done
    sleep 3
    for host in a b; do
        pid=$(karaf_pid "$host")
        [ -n "$pid" ] || { say "host $host's JVM is gone"; return 1; }
        jcmd "$pid" GC.run >/dev/null 2>&1 || true
        heap=$(jcmd "$pid" GC.heap_info 2>/dev/null | sed -n 's/.* total \([0-9]*\)K, used \([0-9]*\)K.*/\2/p' | head -n 1)
        echo "$(( $(date +%s) - START )),$host,${heap:-0},$(ls "/proc/$pid/fd" | wc -l),$(wc -l <"/proc/$pid/maps"),$(sed -n 's/^Threads:\t*//p' "/proc/$pid/status")" \
            >>"$OUT/samples.csv"
    done
    rm -f "$OUT/pause"
}

end=$(( $(date +%s) + MINUTES * 60 ))
while [ "$(date +%s)" -lt "$end" ]; do
    sample || exit 1
    ok=$(grep -c ok "$OUT/traffic.count" 2>/dev/null || true)
    failed=$(grep -c failed "$OUT/traffic.count" 2>/dev/null || true)
    say "$(tail -n 2 "$OUT/samples.csv" | tr '\n' ' ')| benchmarks ok ${ok:-0}, failed ${failed:-0}; injected $(tail -n 1 "$OUT/injector.log" 2>/dev/null)"
    sleep "$SAMPLE"
done
sample

for host in a b; do
    "$TWO_HOSTS" console "$host" vmrdma:status >"$OUT/status-$host.txt" 2>&1 || true
done
# The tenth minute on; a short trial run keeps its last two thirds.
warmup=600
[ "$MINUTES" -ge 20 ] || warmup=$(( MINUTES * 20 ))
python3 "$ROOT/scripts/soak/summary.py" "$OUT/samples.csv" "$warmup" | tee "$OUT/summary.txt"
ok=$(grep -c ok "$OUT/traffic.count" 2>/dev/null || true)
failed=$(grep -c failed "$OUT/traffic.count" 2>/dev/null || true)
echo "benchmarks: ${ok:-0} ok, ${failed:-0} failed; injector: $(tail -n 1 "$OUT/injector.log")" | tee -a "$OUT/summary.txt"
grep -q "^verdict: flat" "$OUT/summary.txt" && [ "${failed:-0}" -eq 0 ]
