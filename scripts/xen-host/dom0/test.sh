#!/bin/bash
# The real-Xen stage's test, run in dom0 of a Xen 4.17 host (scripts/xen-host/run.sh boots it under QEMU; on a real
# Xen host run it as root from an unpacked payload, see docs/testing.md). Every verdict is one line on the console:
#   VMRDMA-XEN ok <check>: <detail>      VMRDMA-XEN FAIL <check>: <why>      VMRDMA-XEN done <ok> <failed>
# The payload directory (default: this script's parent) holds karaf/, domU/ and dom0/ssh-key; results/ gets the
# logs. Guests are PV domUs running vmrdma_guest_check from a busybox initramfs; their consoles are logged by
# xenconsoled to /var/log/xen/console/guest-<name>.log.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
payload=${VMRDMA_PAYLOAD:-$(cd "$(dirname "$0")/.." && pwd)}
karaf=$payload/karaf
results=$payload/results
consoles=/var/log/xen/console
seed=$(( ($(date +%s) * 7919) % 1000000007 ))
passed=0 failed=0

up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "VMRDMA-XEN $*"; }
note() { say "note $* (at $(up) s)"; }
ok() { passed=$((passed + 1)); say "ok $1: ${*:2}"; }
fail() { failed=$((failed + 1)); say "FAIL $1: ${*:2}"; }

# Runs a console command in the engine's Karaf over SSH (public key of the payload).
console() {
    ssh -q -p 8101 -i "$payload/dom0/ssh-key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o BatchMode=yes -o ConnectTimeout=30 karaf@127.0.0.1 "$@" 2>&1
}

# Starts a guest running vmrdma_guest_check with the given arguments. Extra xl settings in $XL_EXTRA.
guest() {
    local name=$1; shift
    local args; args=$(echo "vmrdma_guest_check $*" | tr ' ' ,)
    rm -f "$consoles/guest-$name.log"
    cat > "/tmp/$name.cfg" <<CFG
name = "$name"
type = "pv"
kernel = "$payload/domU/vmlinux"
ramdisk = "$payload/domU/initramfs.cpio.gz"
extra = "console=hvc0 rdinit=/init loglevel=4 vmrdma_cmd=$args"
memory = 128
vcpus = 1
on_poweroff = "destroy"
on_crash = "destroy"
${XL_EXTRA:-}
CFG
    xl create -q "/tmp/$name.cfg" > "$results/xl-$name.log" 2>&1 || { cat "$results/xl-$name.log"; return 1; }
}

output() { cat "$consoles/guest-$1.log" 2>/dev/null; }

# Waits up to $3 s until guest $1's console shows the extended regular expression $2; says what the guest last
# printed every 30 s meanwhile.
await_output() {
    local deadline=$(( SECONDS + $3 )) said=$SECONDS
    until output "$1" | grep -Eq "$2"; do
        [ $SECONDS -ge $deadline ] && return 1
        if [ $(( SECONDS - said )) -ge 30 ]; then
            note "waiting for $1 to print '$2'; it last printed: $(output "$1" | tail -1 | tr -d '\r' | cut -c1-160)"
            said=$SECONDS
        fi
        sleep 1
    done
}

# Waits up to $2 s for guest $1 to end; then its verdict: ok when it printed "check: PASS" and exited 0.
verdict() {
    local name=$1 check=$3 deadline=$(( SECONDS + $2 )) said=$SECONDS
    while xl domid "$name" >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then note "$name still runs after $2 s: destroyed"; xl destroy "$name" 2>/dev/null; break; fi
        if [ $(( SECONDS - said )) -ge 30 ]; then
            note "waiting for $name to end; it last printed: $(output "$name" | tail -1 | tr -d '\r' | cut -c1-160)"
            said=$SECONDS
        fi
        sleep 1
    done
    [ -L "$consoles" ] || cp "$consoles/guest-$name.log" "$results/console/" 2>/dev/null
    if output "$name" | grep -q 'check: PASS' && output "$name" | grep -q 'guest: exit 0'; then
        ok "$check" "guest $name: $(output "$name" | grep -E 'identical|ended cleanly|streams|rounds sent|buffer:|taken|attached again' | tr -d '\r' | sed 's/^.*check: //' | tr '\n' ';' | cut -c1-400)"
    else
        fail "$check" "guest $name did not pass; its console:"
        output "$name" | tail -25 | sed 's/^/    /'
    fi
}

# On a fresh host (the emulated one: its root disk is a throw-away snapshot) guest consoles are logged straight to
# the payload disk, so they outlive a hang; a host with console logs of its own keeps them, and verdict copies ours.
mkdir -p "$results/console" "$(dirname "$consoles")"
if [ -z "$(ls -A "$consoles" 2>/dev/null)" ]; then
    rm -rf "$consoles" && ln -s "$results/console" "$consoles"
fi
note "dom0 test starting, seed $seed"
# A heartbeat, so a stuck step shows where it is stuck: the test's processes and the kernel's last words.
(
    while sleep 45; do
        echo "VMRDMA-XEN heartbeat at $(up) s: $(ps -eo pid,stat,wchan:20,etime,args --sort=start_time | grep -E 'xl |xenstore|bash|ssh |sleep|cat |grep' | grep -v -E 'grep -E|ps -eo' | tail -6 | cut -c1-120 | tr -s ' ' | tr '\n' '|')"
        dmesg | tail -3 | sed 's/^/VMRDMA-XEN heartbeat dmesg: /'
    done
) &
heartbeat=$!

# ---- Xen itself ----
/etc/init.d/xen start > "$results/xen-start.log" 2>&1
modprobe -a xen-gntdev xen-gntalloc xen-evtchn xen-privcmd 2>/dev/null
version=$(xl info 2>/dev/null | sed -n 's/^xen_version *: *//p')
case $version in
4.17*) ok xen "Xen $version, $(xl info | sed -n 's/^xen_caps *: *//p'), dom0 $(uname -r)";;
*) fail xen "xl info gives no Xen 4.17 (\"$version\")"; say "done $passed $failed"; exit 1;;
esac

# ---- the binding's own check, in dom0 against itself ----
if (cd "$karaf" && bin/vmrdma-xen-check) > "$results/xen-check.log" 2>&1; then
    ok vmrdma-xen-check "$(grep -c '^ok' "$results/xen-check.log") steps ok; $(grep 'gntalloc' "$results/xen-check.log" | sed 's/  */ /g')"
else
    fail vmrdma-xen-check "exit status $?"; sed 's/^/    /' "$results/xen-check.log"
fi

# ---- Karaf with vmrdma-xen-native in dom0 ----
note "starting Karaf"
export EXTRA_JAVA_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
(cd "$karaf" && bin/start)
status= deadline=$(( SECONDS + 420 )) said=$SECONDS
until echo "$status" | grep -q 'Xen backend.*native' || [ $SECONDS -ge $deadline ]; do
    sleep 2
    status=$(console vmrdma:status)
    if [ $(( SECONDS - said )) -ge 30 ]; then
        note "waiting for Karaf; karaf.log's last line: $(tail -1 "$karaf/data/log/karaf.log" 2>/dev/null | cut -c1-200)"
        said=$SECONDS
    fi
done
echo "$status" > "$results/status-first.txt"
if echo "$status" | grep -q 'Xen backend.*native'; then
    ok karaf "vmrdma:status answers with the native Xen backend ($(echo "$status" | grep -E 'Xen backend|NIC binding' | tr -s ' ' | tr '\n' ';'))"
else
    fail karaf "vmrdma:status never showed the native Xen backend; last answer: $status"
    tail -40 "$karaf/data/log/karaf.log" | cut -c1-300 | sed 's/^/    /'
    cp "$karaf/data/log/karaf.log" "$results/" 2>/dev/null
    say "done $passed $failed"; exit 1
fi

# ---- RDMA between two domUs: the connection manager and every verb, byte for byte ----
note "pair: server and client guests"
guest server pair server 9100 "$seed"
await_output server 'listening on 9100' 120 || note "the server guest did not announce its listener"
domid=$(xl domid server)
dev=$(xenstore-ls -p "/local/domain/$domid" 2>/dev/null | grep -E '^device ' | grep -o '([^)]*)$')
perms=$(xenstore-ls -p "/local/domain/$domid/device" 2>/dev/null | grep -E '^vmrdma ' | grep -o '([^)]*)$')
guest client pair client 9100 "$seed"
verdict client 300 pair-client
verdict server 60 pair-server
# What the simulator models of the toolstack, as real Xen does it: device/ read-only for the guest, the offer its own.
if [ "$dev" = "(n0,r$domid)" ] && [ "$perms" = "(n$domid)" ]; then
    ok toolstack-permissions "domain $domid: device/ $dev as xl makes it, device/vmrdma $perms as the engine offers it"
else
    fail toolstack-permissions "domain $domid: device/ is \"$dev\" (expected (n0,r$domid)), device/vmrdma \"$perms\" (expected (n$domid))"
fi

# ---- a guest destroyed mid-transfer; the engine and the other guests go on ----
note "stream: a source destroyed mid-stream"
guest sink sink 9200 "$seed" 1
await_output sink 'listening on 9200' 120
guest victim source 9200 "$seed" -1
if await_output sink '10 rounds verified' 300; then
    xl destroy victim && note "victim destroyed"
    await_output sink 'stream cut after' 120 && note "$(output sink | grep 'stream cut' | tr -d '\r')"
    guest second source 9200 "$seed" 30
    verdict second 300 stream-after-destroy-source
    verdict sink 120 stream-after-destroy-sink
    if output sink | grep -q '1 streams ended cleanly, 1 cut'; then
        ok guest-destroyed-mid-transfer "the sink saw the victim's stream cut and the next stream of 30 rounds byte-identical"
    else
        fail guest-destroyed-mid-transfer "the sink did not report one cut and one clean stream"
    fi
else
    fail guest-destroyed-mid-transfer "the victim's stream never reached 10 rounds"
    output sink | tail -20 | sed 's/^/    /'; output victim | tail -20 | sed 's/^/    /'
    xl destroy victim 2>/dev/null; xl destroy sink 2>/dev/null
fi
after=$(console vmrdma:domains)
echo "$after" > "$results/domains-after-destroy.txt"
if echo "$after" | grep -qE ' victim '; then
    fail destroyed-domain-closed "the engine still lists the destroyed guest: $after"
else
    ok destroyed-domain-closed "vmrdma:domains no longer lists the destroyed guest"
fi

# ---- several processes in one domU, each with a device of its own ----
note "processes: two sink processes in one domU, two source processes in another"
guest psink procs 2 sink 9400 "$seed" 1
if await_output psink 'listening on 9400' 120 && await_output psink 'listening on 9401' 30; then
    guest psource procs 2 source 9400 "$seed" 30
    source_domid=$(xl domid psource 2>/dev/null)
    verdict psource 300 processes-source
    verdict psink 120 processes-sink
    found=$(grep -cE "dom $source_domid device [01]: vmrdma frontend found" "$karaf/data/log/karaf.log")
    if [ "$found" = 2 ]; then
        ok processes-devices "domain $source_domid had devices 0 and 1, one per process, served at once"
    else
        fail processes-devices "karaf.log names $found of devices 0 and 1 of domain $source_domid"
    fi
else
    fail processes "the sink processes never listened"
    output psink | tail -20 | sed 's/^/    /'
    xl destroy psink 2>/dev/null
fi

# ---- the engine bundle restarted under two connected guests, which re-attach ----
note "reattach: restarting the engine bundle under two guests"
guest rserver reattach server 9300 "$seed"
guest rclient reattach client 9300 "$seed"
if await_output rserver 'reattach: ready' 300 && await_output rclient 'reattach: ready' 120; then
    restart=$(console bundle:restart io.vmrdma.engine)
    note "bundle:restart io.vmrdma.engine: ${restart:-done}"
    verdict rclient 300 reattach-client
    verdict rserver 120 reattach-server
else
    fail reattach "the guests never got ready for the restart"
    output rserver | tail -20 | sed 's/^/    /'; output rclient | tail -20 | sed 's/^/    /'
    xl destroy rserver 2>/dev/null; xl destroy rclient 2>/dev/null
fi

# ---- limits: grants and event channels hit and refused cleanly ----
note "limits: a buffer beyond gntalloc's limit; every event channel taken"
XL_EXTRA='max_event_channels = 64' guest limits limits $((8 << 20))
verdict limits 300 limits

# ---- the engine after all of it ----
final=$(console vmrdma:status)
echo "$final" > "$results/status-last.txt"
console vmrdma:stats > "$results/stats-last.txt"
if echo "$final" | grep -q 'Xen backend.*native'; then
    ok engine-healthy "vmrdma:status still answers after every scenario"
else
    fail engine-healthy "vmrdma:status after the scenarios: $final"
fi
errors=$(grep -E '\| ERROR \|' "$karaf/data/log/karaf.log" | grep -v 'ConfigurationGuard' | head -20)
if [ -z "$errors" ]; then
    ok karaf-log "no ERROR in karaf.log"
else
    fail karaf-log "ERROR lines in karaf.log:"; echo "$errors" | cut -c1-300 | sed 's/^/    /'
fi

(cd "$karaf" && bin/stop) > /dev/null 2>&1
for i in $(seq 1 60); do pgrep -f org.apache.karaf.main.Main > /dev/null || break; sleep 1; done
cp "$karaf/data/log/karaf.log" "$results/" 2>/dev/null
kill $heartbeat 2>/dev/null
say "done $passed $failed"
