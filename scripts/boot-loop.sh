#!/usr/bin/env bash
# Boots the distribution again and again, fresh each time, and counts the boots that never finish: the check for boot
# hangs that ./test.sh, which boots each configuration a few times, cannot catch when they are rare.
#
#   scripts/boot-loop.sh N [CONFIG...]   N boots of each configuration (default: all four)
#
# Configurations, the ones docs/operations.md offers:
#   embedded   the distribution as unpacked: nic.loopback, xen.sim
#   packet     vmrdma-nic-packet added to featuresBoot, nic = packet on a veth end (etc/ only, no console step)
#   udp        vmrdma-nic-udp added to featuresBoot, nic = udp on 127.0.0.1
#   two-hosts  bin/vmrdma-two-hosts up -n 200, then down
#
# A boot counts as finished when vmrdma:status answers with the configured NIC binding in use; one that has not after
# 120 s counts as hung: its thread dump (jcmd Thread.print) and log are kept. Every boot is a fresh copy of the
# distribution (so the first-boot provisioning runs each time) in a network namespace of this script's own, and its
# Karaf is stopped through bin/stop; only a JVM proven to be that copy's Karaf (its command line names the copy as
# karaf.base) is ever signalled. Needs root (namespaces, raw sockets) and a built distribution (mvn install).
# Environment: VMRDMA_BOOT_LOOP_DIR, where copies, dumps and the summary go (default target/boot-loop).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-env.sh

distribution=karaf-assembly/target/assembly
work=$(mkdir -p "${VMRDMA_BOOT_LOOP_DIR:-target/boot-loop}" && cd "${VMRDMA_BOOT_LOOP_DIR:-target/boot-loop}" && pwd)
ns=vmrdma-bootloop-$$
deadline=120

say() { echo "boot-loop: $*"; }
die() { echo "boot-loop: $*" >&2; exit 1; }

[ $# -ge 1 ] && [[ "$1" =~ ^[1-9][0-9]*$ ]] || { sed -n '2,5s/^# \{0,1\}//p' "$0" >&2; exit 2; }
boots=$1
shift
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(embedded packet udp two-hosts)
for config in "${configs[@]}"; do
    case "$config" in embedded|packet|udp|two-hosts) ;; *) die "no configuration '$config' (embedded, packet, udp, two-hosts)" ;; esac
done
[ "$(id -u)" = 0 ] || die "needs root: network namespaces and raw sockets"
[ -x "$distribution/bin/start" ] || die "no distribution at $distribution: run mvn install first"
scripts/ensure-packages.sh iproute2 >/dev/null
# A snapshot, so a rebuild while the loop runs does not change what it boots.
rm -rf "$work/distribution"
cp -a "$distribution" "$work/distribution"
distribution="$work/distribution"

# is_instance PID DIR: whether PID is a live Karaf JVM whose karaf.base is DIR.
is_instance() {
    [[ "$1" =~ ^[1-9][0-9]*$ ]] || return 1
    grep -qzxF -- "org.apache.karaf.main.Main" "/proc/$1/cmdline" 2>/dev/null \
        && grep -qzxF -- "-Dkaraf.base=$2" "/proc/$1/cmdline" 2>/dev/null
}

# The Karaf JVM of the copy in DIR, or nothing.
instance_pid() {
    local p
    p=$(cat "$1/karaf.pid" 2>/dev/null || true)
    if is_instance "$p" "$1"; then echo "$p"; return 0; fi
    for p in /proc/[1-9]*; do
        p=${p#/proc/}
        if is_instance "$p" "$1"; then echo "$p"; return 0; fi
    done
}

# Stops the copy in DIR: bin/stop, then, after 30 s, SIGKILL to its verified JVM only.
stop_instance() {
    local dir=$1 p
    p=$(instance_pid "$dir")
    [ -n "$p" ] || return 0
    ip netns exec "$ns" "$dir/bin/stop" >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do
        is_instance "$p" "$dir" || return 0
        sleep 1
    done
    is_instance "$p" "$dir" && kill -KILL "$p" 2>/dev/null || true
}

copy=""
cleanup() {
    [ -z "$copy" ] || stop_instance "$copy"
    ip netns delete "$ns" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add name bl-a mtu 9000 type veth peer name bl-b mtu 9000
ip -n "$ns" link set bl-a up
ip -n "$ns" link set bl-b up

# A fresh copy of the distribution configured as CONFIG, in DIR.
prepare() {
    local config=$1 dir=$2 binding
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -a "$distribution/." "$dir/"
    case "$config" in
        packet) binding=packet; printf 'interfaceName = bl-a\n' >"$dir/etc/io.vmrdma.nic.packet.cfg" ;;
        udp) binding=udp; printf 'bindAddress = 127.0.0.1\n' >"$dir/etc/io.vmrdma.nic.udp.cfg" ;;
        *) return 0 ;;
    esac
    sed -i -e "s/^nic *=.*/nic = $binding/" "$dir/etc/io.vmrdma.engine.cfg"
    sed -i -e "s|^\( *\)\(vmrdma/[^,]*\),|\1\2, vmrdma-nic-$binding,|" "$dir/etc/org.apache.karaf.features.cfg"
    grep -q "vmrdma-nic-$binding" "$dir/etc/org.apache.karaf.features.cfg" || die "could not edit featuresBoot in $dir"
}

# Whether the copy in DIR answers vmrdma:status with BINDING in use.
answers() {
    local dir=$1 binding=$2 status
    grep -q "NIC binding '$binding' in use" "$dir/data/log/karaf.log" 2>/dev/null || return 1
    status=$(echo vmrdma:status | ip netns exec "$ns" "$dir/bin/client" -u karaf -p karaf -r 1 -b 2>/dev/null) || return 1
    grep -Eq "NIC binding +\| +$binding" <<<"$status"
}

# One boot of CONFIG as number I; sets result to the seconds to ready, or "hung".
boot_once() {
    local config=$1 i=$2 binding=loopback start p
    [ "$config" = packet ] && binding=packet
    [ "$config" = udp ] && binding=udp
    copy="$work/$config"
    prepare "$config" "$copy"
    start=$SECONDS
    ip netns exec "$ns" env EXTRA_JAVA_OPTS="-Duser.home=$work/home" "$copy/bin/start" >/dev/null 2>&1
    while ! answers "$copy" "$binding"; do
        if [ $((SECONDS - start)) -ge $deadline ]; then
            local keep="$work/hung-$config-$i"
            mkdir -p "$keep"
            p=$(instance_pid "$copy")
            [ -z "$p" ] || jcmd "$p" Thread.print >"$keep/threads.txt" 2>&1 || true
            cp -a "$copy/data/log" "$keep/" 2>/dev/null || true
            stop_instance "$copy"
            copy=""
            result=hung
            return 0
        fi
        sleep 0.5
    done
    result=$((SECONDS - start))
    if grep -q "Refreshing bundles:" "$copy/data/log/karaf.log"; then
        echo refreshed >>"$work/$config.refreshes"
    fi
    stop_instance "$copy"
    copy=""
}

# One walkthrough as number I; sets result to the seconds it took, or "hung" (the script's own deadlines ran out).
walkthrough_once() {
    local i=$1 start output
    start=$SECONDS
    output=$(VMRDMA_TWO_HOSTS_DIR="$work/two-hosts" VMRDMA_TWO_HOSTS_PREFIX="vmrdma-bl$$" \
        EXTRA_JAVA_OPTS="-Duser.home=$work/home" setsid --wait "$distribution/bin/vmrdma-two-hosts" up -n 200 2>&1) \
        || { mkdir -p "$work/hung-two-hosts-$i"; echo "$output" >"$work/hung-two-hosts-$i/output.txt"
             cp -a "$work/two-hosts" "$work/hung-two-hosts-$i/" 2>/dev/null || true; }
    VMRDMA_TWO_HOSTS_DIR="$work/two-hosts" VMRDMA_TWO_HOSTS_PREFIX="vmrdma-bl$$" \
        setsid --wait "$distribution/bin/vmrdma-two-hosts" down >/dev/null 2>&1 || true
    if [ -d "$work/hung-two-hosts-$i" ]; then result=hung; else result=$((SECONDS - start)); fi
    for host in a b; do
        if grep -q "Refreshing bundles:" "$work/two-hosts/$host/data/log/karaf.log" 2>/dev/null; then
            echo refreshed >>"$work/two-hosts.refreshes"
        fi
    done
}

result=""
summary="$work/summary.txt"
: >"$summary"
for config in "${configs[@]}"; do
    rm -f "$work/$config.refreshes"
    hung=0
    times=()
    for i in $(seq 1 "$boots"); do
        if [ "$config" = two-hosts ]; then walkthrough_once "$i"; else boot_once "$config" "$i"; fi
        if [ "$result" = hung ]; then
            hung=$((hung + 1))
            say "$config $i/$boots: HUNG, kept in $work/hung-$config-$i (hung so far: $hung)"
        else
            times+=("$result")
            say "$config $i/$boots: ready in $result s (hung so far: $hung)"
        fi
    done
    refreshes=0
    [ ! -f "$work/$config.refreshes" ] || refreshes=$(wc -l <"$work/$config.refreshes")
    median=$(printf '%s\n' "${times[@]:-}" | sort -n | awk 'NF { a[n++] = $1 } END { print n ? a[int((n - 1) / 2)] : "-" }')
    line="$config: $boots boots, $hung hung, $refreshes with a bundle refresh, median $median s to ready"
    say "$line"
    echo "$line" >>"$summary"
done
say "summary in $summary (Java $("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1), $(nproc) cores)"
