#!/usr/bin/env python3
"""Turns the raw JSON of one ./bench.sh run into target/bench/results.json, docs/bench-results.md and plots.

Every number comes from the harnesses' JSON of this run (target/bench/raw/); nothing is hard-coded but the limits
(10GbE payload limit, computed) and the published figures of the seed paper and Xen2MX, shown as such.
Each figure is the median over the run's rounds; ratios are taken per round (vmrdma and its peer measured in the same
round) and their median reported. A spread (max - min) over 10 % of the median is flagged.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import statistics
import subprocess

LIMIT_10GBE_MIB_S = 1187.0  # raw Ethernet payload at MTU 9000: 38 B framing per 9038 B frame on 10 Gb/s
WIDE = 0.10


def load(raw, prefix):
    out = []
    for path in sorted(glob.glob(os.path.join(raw, prefix + "-*.json"))):
        try:
            with open(path) as f:
                out.append(json.load(f))
        except (OSError, ValueError):
            pass
    return out


class Stat:
    def __init__(self, values):
        self.values = [v for v in values if v is not None]

    def ok(self):
        return len(self.values) > 0

    @property
    def median(self):
        return statistics.median(self.values)

    @property
    def spread(self):
        if len(self.values) < 2 or self.median == 0:
            return 0.0
        return (max(self.values) - min(self.values)) / abs(self.median)

    def text(self, fmt="{:,.0f}"):
        if not self.ok():
            return "—"
        t = fmt.format(self.median)
        if len(self.values) > 1:
            t += " (" + fmt.format(min(self.values)) + "–" + fmt.format(max(self.values)) + ")"
            if self.spread > WIDE:
                t += " ⚠"
        return t


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def guest_row(g, size):
    for row in g.get("write_bw", []):
        if row["bytes"] == size:
            return row
    return None


def link(v, mtu, tbf=""):
    for l in v.get("links", []):
        if l["mtu"] == mtu and l.get("tbf", "") == tbf:
            return l
    return None


def copy_row(l):
    """MiB/s of the 1 MiB write through ports that do not gather, in the same run as the link's rows; None without."""
    rows = (l or {}).get("copy") or []
    return rows[0]["mib_s"] if rows else None


def write_row(l, size, qps=1, auth="off"):
    """The row of that size and queue pairs, measured with frame authentication off, on (GMAC through OpenSSL), hmac,
    jdkgmac or aesgcm (rows
    written before VethBenchmarkTest had vmrdma.bench.auth carry no "auth": they were off)."""
    if l is None:
        return None
    for row in l["write"]:
        if row["bytes"] == size and row["qps"] == qps and row.get("auth", "off") == auth:
            return row
    return None


def lat_row(l, size):
    if l is None:
        return None
    for row in l["latency"]:
        if row["bytes"] == size:
            return row
    return None


def udp_row(l, offload, size):
    """nic.udp's row of that size on a link, with its offloads (gso: UDP_SEGMENT and UDP_GRO) or plain datagrams."""
    for row in (l or {}).get("udp", []):
        if row["offload"] == offload and row["bytes"] == size:
            return row
    return None


def incast_row(r, cc, senders):
    for row in r.get(cc, {}).get("rows", []):
        if row["senders"] == senders:
            return row
    return None


def put_udp_offload(put, veth, emul_links, tcp_cpu, size):
    """The nic.udp keys: 1 MiB writes with segmentation offload beside plain nic.udp, the AF_PACKET floor and
    iperf3 of the same link and run, and CPU per GiB over the emulated 10GbE link."""
    no_udp = "VethBenchmarkTest produced no nic.udp rows in this run"
    for mtu in (9000, 65535):
        links = [link(v, mtu) for v in veth]
        gso = [udp_row(l, "gso", size)["mib_s"] if udp_row(l, "gso", size) else None for l in links]
        plain = [udp_row(l, "plain", size)["mib_s"] if udp_row(l, "plain", size) else None for l in links]
        put("veth%d_udp_gso_write_1m_mib_s" % mtu, gso, no_udp)
        put("veth%d_udp_plain_write_1m_mib_s" % mtu, plain, no_udp)
        put("veth%d_udp_gso_vs_plain" % mtu, [div(x, y) for x, y in zip(gso, plain)], no_udp)
        put("veth%d_udp_gso_vs_tcp" % mtu, [div(x, l["iperf3_mib_s"]) if l else None for x, l in zip(gso, links)],
            no_udp)
        put("veth%d_udp_gso_vs_floor" % mtu, [div(x, l.get("floor_mib_s")) if l else None
                                              for x, l in zip(gso, links)], no_udp)
        # nic.udp's own floor: its two ports alone moving MTU-sized frames, offloads on, no engine.
        own = [udp_row(l, "gso", size).get("floor_mib_s") if udp_row(l, "gso", size) else None for l in links]
        put("veth%d_udp_gso_floor_mib_s" % mtu, own, no_udp)
        put("veth%d_udp_gso_vs_udp_floor" % mtu, [div(x, y) for x, y in zip(gso, own)], no_udp)
        # Unshaped, both engine threads are busy moving data, so CPU per GiB is the cost of the path itself.
        gso_cpu = [udp_row(l, "gso", size)["cpu"]["s_per_gib"] if udp_row(l, "gso", size)
                   and udp_row(l, "gso", size).get("cpu") else None for l in links]
        tcp_cpu_here = [l["iperf3_cpu"]["s_per_gib"] if l and l.get("iperf3_cpu") else None for l in links]
        put("veth%d_udp_gso_cpu_s_per_gib" % mtu, gso_cpu, no_udp + " with CPU accounting")
        put("veth%d_tcp_cpu_s_per_gib" % mtu, tcp_cpu_here, no_udp + " with CPU accounting")
        put("veth%d_udp_gso_cpu_vs_tcp" % mtu, [div(x, y) for x, y in zip(gso_cpu, tcp_cpu_here)],
            no_udp + " with CPU accounting")
    no_emul = "the emulated-10GbE run produced no nic.udp rows with CPU accounting"

    def cpu(l, offload):
        row = udp_row(l, offload, size)
        return row["cpu"]["s_per_gib"] if row and row.get("cpu") else None
    gso_cpu = [cpu(l, "gso") for l in emul_links]
    put("emul10g_udp_gso_write_mib_s", [udp_row(l, "gso", size)["mib_s"] if udp_row(l, "gso", size) else None
                                        for l in emul_links], no_emul)
    put("emul10g_udp_gso_cpu_s_per_gib", gso_cpu, no_emul)
    put("emul10g_udp_plain_cpu_s_per_gib", [cpu(l, "plain") for l in emul_links], no_emul)
    put("emul10g_udp_gso_cpu_vs_tcp", [div(x, y) for x, y in zip(gso_cpu, tcp_cpu)], no_emul)


def incast_plots(img, tmp, incast):
    """Goodput and window of each of 4 senders over time, with and without congestion control (first round)."""
    if not incast:
        return []
    os.makedirs(tmp, exist_ok=True)
    plots = []
    for what, title, ylabel, out in (
            ("mib_s", "Incast, 4 senders through one 10gbit port: goodput of each", "MiB/s (10 ms)",
             "bench-incast-goodput.png"),
            ("window_kib", "Incast, 4 senders through one 10gbit port: congestion window of each", "KiB",
             "bench-incast-window.png")):
        panels = []
        for cc, name in (("delay", "congestion control (delay)"), ("off", "congestion control off")):
            row = incast_row(incast[0], cc, 4)
            if not row or "series" not in row:
                continue
            path = os.path.join(tmp, "incast-%s-%s.dat" % (cc, what))
            with open(path, "w") as f:
                for point in row["series"]:
                    f.write("%s %s\n" % (point["t_ms"], " ".join(str(x) for x in point[what])))
            panels.append((path, name, len(row["series"][0][what])))
        if not panels:
            continue
        lines = ['set terminal pngcairo size 900,%d font ",10"' % (300 * len(panels)),
                 'set output "%s"' % os.path.join(img, out), "set multiplot layout %d,1 title \"%s\"" %
                 (len(panels), title), 'set xlabel "ms into the measured window"', 'set ylabel "%s"' % ylabel,
                 "set grid", "set key outside right top", "set yrange [0:*]"]
        for path, name, senders in panels:
            lines.append('set title "%s"' % name)
            lines.append("plot " + ", ".join('"%s" using 1:%d with lines lw 1.5 title "sender %d"' % (path, i + 2, i + 1)
                                             for i in range(senders)))
        lines.append("unset multiplot")
        subprocess.run(["gnuplot"], input="\n".join(lines) + "\n", text=True, check=False)
        plots.append((title, out))
    return plots


def div(a, b):
    return None if a is None or b is None or b == 0 else a / b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--md")
    ap.add_argument("--img")
    ap.add_argument("--quick", default="0")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    intra = load(a.raw, "intra")
    guest = load(a.raw, "guest")
    emul = load(a.raw, "emul10g")
    veth = load(a.raw, "veth")
    wire = load(a.raw, "wire")
    evtchn = load(a.raw, "evtchn")
    migration = load(a.raw, "migration")
    guest_migration = load(a.raw, "guestmigration")
    idle = load(a.raw, "idle")
    cluster = None
    if os.path.exists(os.path.join(a.raw, "cluster.json")):
        with open(os.path.join(a.raw, "cluster.json")) as f:
            cluster = json.load(f)
    mpi = load(a.raw, "mpi")
    procs = load(a.raw, "procs")
    incast = load(a.raw, "incast")
    sched = None
    if os.path.exists(os.path.join(a.raw, "scheduling.json")):
        with open(os.path.join(a.raw, "scheduling.json")) as f:
            sched = json.load(f)

    M = 1 << 20
    stats = {}
    missing = {}

    def put(key, values, why_missing):
        s = Stat(values)
        if s.ok():
            stats[key] = s
        else:
            missing[key] = why_missing

    def intra_mib(run, bench, size):
        try:
            return run["results"][bench][str(size)]["median_mib_s"]
        except KeyError:
            return None

    # Intra-host: guest to guest through the backend (GuestBenchmarkTest), copy of the same size in the same run.
    gw = [guest_row(g, M)["write_mib_s"] if guest_row(g, M) else None for g in guest]
    gc = [guest_row(g, M)["copy_mib_s"] if guest_row(g, M) else None for g in guest]
    no_guest = "GuestBenchmarkTest produced no result in this run (see target/bench/bench.log)"
    put("intra_write_1m_mib_s", gw, no_guest)
    put("memcpy_1m_mib_s", gc, no_guest)
    put("intra_write_1m_vs_memcpy", [div(w, c) for w, c in zip(gw, gc)], no_guest)
    aer = [intra_mib(r, "aeron_ipc", M) for r in intra]
    ew = [intra_mib(r, "vmrdma_write", M) for r in intra]
    em = [intra_mib(r, "memcpy", M) for r in intra]
    no_intra = "the JMH suite (BenchSuite) produced no result in this run"
    put("aeron_ipc_mib_s", aer, no_intra)
    n = min(len(gw), len(aer))
    put("intra_vs_aeron_ipc", [div(gw[i], aer[i]) for i in range(n)], no_intra)
    put("engine_write_1m_mib_s", ew, no_intra)
    put("engine_write_1m_vs_memcpy", [div(w, c) for w, c in zip(ew, em)], no_intra)
    put("engine_write_1m_vs_aeron_ipc", [div(w, c) for w, c in zip(ew, aer)], no_intra)
    # Several processes of one VM (ProcessesInOneVmBenchmarkTest): four writing at once over one alone, same run.
    no_procs = "ProcessesInOneVmBenchmarkTest produced no result in this run (see target/bench/bench.log)"
    put("intra_1proc_write_1m_mib_s", [p.get("single_mib_s") for p in procs], no_procs)
    put("intra_4proc_write_1m_mib_s", [p.get("four_mib_s") for p in procs], no_procs)
    put("intra_4proc_aggregate_vs_single", [p.get("aggregate_vs_single") for p in procs], no_procs)
    put("intra_1proc_hot_write_1m_mib_s", [p.get("hot_single_mib_s") for p in procs], no_procs)
    put("intra_4proc_aggregate_vs_hot_single", [p.get("aggregate_vs_hot_single") for p in procs], no_procs)
    put("guest_cpu_s_per_gib_1m", [guest_row(g, M)["guest_cpu_s_per_gib"] if guest_row(g, M) else None
                                   for g in guest], no_guest)

    # Veth.
    no_veth = "VethBenchmarkTest produced no result in this run"
    for mtu in (9000, 65535):
        w = [write_row(link(v, mtu), M)["mib_s"] if write_row(link(v, mtu), M) else None for v in veth]
        t = [link(v, mtu)["iperf3_mib_s"] if link(v, mtu) else None for v in veth]
        put("veth%d_write_1m_mib_s" % mtu, w, no_veth)
        put("veth%d_tcp_mib_s" % mtu, t, no_veth)
        put("veth%d_write_1m_vs_tcp" % mtu, [div(x, y) for x, y in zip(w, t)], no_veth)
        w4 = [write_row(link(v, mtu), M, 4)["mib_s"] if write_row(link(v, mtu), M, 4) else None for v in veth]
        put("veth%d_write_1m_4qp_mib_s" % mtu, w4, no_veth)
        put("veth%d_write_1m_4qp_vs_1qp" % mtu, [div(x, y) for x, y in zip(w4, w)], no_veth)
        # The AF_PACKET floor of the same link and run: the two ports alone, pinned to their cores, the receiver
        # busy polling or blocking on readiness, whichever moved more (both kept beside it).
        f = [link(v, mtu).get("floor_mib_s") if link(v, mtu) else None for v in veth]
        put("veth%d_floor_mib_s" % mtu, f, no_veth)
        put("veth%d_floor_busy_mib_s" % mtu, [link(v, mtu).get("floor_busy_mib_s") if link(v, mtu) else None
                                              for v in veth], no_veth)
        put("veth%d_floor_blocking_mib_s" % mtu, [link(v, mtu).get("floor_blocking_mib_s") if link(v, mtu) else None
                                                  for v in veth], no_veth)
        put("veth%d_floor_vs_tcp" % mtu, [div(x, y) for x, y in zip(f, t)], no_veth)
        put("veth%d_write_1m_vs_floor" % mtu, [div(x, y) for x, y in zip(w, f)], no_veth)
        # The same row through ports that do not gather (the payload copied into the slots): the gather's baseline.
        c = [copy_row(link(v, mtu)) for v in veth]
        put("veth%d_write_1m_copy_mib_s" % mtu, c, no_veth + " with the copy row")
        put("veth%d_write_1m_gather_vs_copy" % mtu, [div(x, y) for x, y in zip(w, c)], no_veth + " with the copy row")

    # Emulated 10GbE.
    no_emul = "the emulated-10GbE run (VethBenchmarkTest with vmrdma.bench.tbf) produced no result"
    el = [link(v, 9000, "10gbit") for v in emul]
    ew_ = [write_row(l, M)["mib_s"] if write_row(l, M) else None for l in el]
    et = [l["iperf3_mib_s"] if l else None for l in el]
    put("emul10g_write_mib_s", ew_, no_emul)
    put("emul10g_tcp_mib_s", et, no_emul)
    put("emul10g_pct_of_limit", [None if x is None else 100 * x / LIMIT_10GBE_MIB_S for x in ew_], no_emul)
    put("emul10g_vs_tcp", [div(x, y) for x, y in zip(ew_, et)], no_emul)
    ec = [write_row(l, M)["cpu"]["s_per_gib"] if write_row(l, M) and write_row(l, M).get("cpu") else None
          for l in el]
    tc = [l["iperf3_cpu"]["s_per_gib"] if l and l.get("iperf3_cpu") else None for l in el]
    put("emul10g_cpu_s_per_gib", ec, no_emul + " with CPU accounting")
    put("emul10g_tcp_cpu_s_per_gib", tc, no_emul + " with CPU accounting")
    put("emul10g_cpu_vs_tcp", [div(x, y) for x, y in zip(ec, tc)], no_emul + " with CPU accounting")
    put("emul10g_retransmissions", [write_row(l, M)["retransmissions"] if write_row(l, M) else None for l in el],
        no_emul)
    # The same link and run with frame authentication on (vmrdma.bench.auth=on,off).
    no_auth = no_emul + " with vmrdma.bench.auth=on"
    ea = [write_row(l, M, auth="on")["mib_s"] if write_row(l, M, auth="on") else None for l in el]
    put("emul10g_auth_write_mib_s", ea, no_auth)
    put("emul10g_auth_pct_of_limit", [None if x is None else 100 * x / LIMIT_10GBE_MIB_S for x in ea], no_auth)
    put("emul10g_auth_vs_off", [div(x, y) for x, y in zip(ea, ew_)], no_auth)
    put("emul10g_auth_cpu_s_per_gib", [write_row(l, M, auth="on")["cpu"]["s_per_gib"]
                                       if write_row(l, M, auth="on") and write_row(l, M, auth="on").get("cpu")
                                       else None for l in el], no_auth + " and CPU accounting")
    eh = [write_row(l, M, auth="hmac")["mib_s"] if write_row(l, M, auth="hmac") else None for l in el]
    put("emul10g_hmac_pct_of_limit", [None if x is None else 100 * x / LIMIT_10GBE_MIB_S for x in eh],
        no_emul + " with vmrdma.bench.auth=hmac (HMAC-SHA256, the tag shipped before GMAC, for comparison)")
    eg = [write_row(l, M, auth="jdkgmac")["mib_s"] if write_row(l, M, auth="jdkgmac") else None for l in el]
    put("emul10g_jdkgmac_pct_of_limit", [None if x is None else 100 * x / LIMIT_10GBE_MIB_S for x in eg],
        no_emul + " with vmrdma.bench.auth=jdkgmac (the same GMAC in the JDK, for comparison)")
    ex = [write_row(l, M, auth="aesgcm")["mib_s"] if write_row(l, M, auth="aesgcm") else None for l in el]
    put("emul10g_aesgcm_pct_of_limit", [None if x is None else 100 * x / LIMIT_10GBE_MIB_S for x in ex],
        no_emul + " with vmrdma.bench.auth=aesgcm (payloads encrypted, for comparison)")
    put_udp_offload(put, veth, el, tc, M)
    # Guests across the emulated link (GuestsAcrossLinkBenchmarkTest): guest CPU, scale, shares on the wire.
    no_wire = "GuestsAcrossLinkBenchmarkTest produced no result in this run (see target/bench/bench.log)"
    gcpu = [w.get("guest_cpu") for w in wire]
    put("emul10g_guest_cpu_pct", [g["guest_cpu_pct"] if g else None for g in gcpu], no_wire)
    put("emul10g_guest_write_mib_s", [g["mib_s"] if g else None for g in gcpu], no_wire)
    put("emul10g_guest_dom0_agent_cpu_pct", [g["host_a_agent_cpu_pct"] if g else None for g in gcpu], no_wire)

    # Latency.
    l9 = [link(v, 9000) for v in veth]
    p50 = [lat_row(l, 8)["p50_us"] if lat_row(l, 8) else None for l in l9]
    p99 = [lat_row(l, 8)["p99_us"] if lat_row(l, 8) else None for l in l9]
    udp = [l["udp_lat_us"] if l else None for l in l9]
    put("lat_p50_us", p50, no_veth)
    put("lat_p99_us", p99, no_veth)
    put("lat_p99_9_us", [lat_row(l, 8)["p99_9_us"] if lat_row(l, 8) else None for l in l9], no_veth)
    put("udp_lat_us", udp, no_veth)
    put("tcp_lat_us", [l["tcp_lat_us"] if l else None for l in l9], no_veth)
    put("lat_vs_udp", [div(x, y) for x, y in zip(p50, udp)], no_veth)
    # Guest ping-pongs: the client's half round trips in an HdrHistogram (GuestBenchmarkTest), not perftest's row.
    def guest_pct(mode, key):
        return [g[mode][key] if mode in g else None for g in guest]
    put("guest_lat_p50_us", guest_pct("write_lat_polling", "p50_us"), no_guest)
    put("guest_lat_p99_us", guest_pct("write_lat_polling", "p99_us"), no_guest)
    put("guest_lat_p99_9_us", guest_pct("write_lat_polling", "p99_9_us"), no_guest)
    put("guest_send_lat_blocking_p50_us", guest_pct("send_lat_blocking", "p50_us"), no_guest)
    put("guest_send_lat_blocking_p99_us", guest_pct("send_lat_blocking", "p99_us"), no_guest)

    # The simulator's event channel against a pipe, round trips in alternating blocks (EventChannelBenchmarkTest).
    no_evtchn = "EventChannelBenchmarkTest produced no result in this run (see target/bench/bench.log)"
    put("sim_evtchn_rtt_p50_us", [e["evtchn"]["p50_us"] for e in evtchn], no_evtchn)
    put("sim_evtchn_rtt_p99_us", [e["evtchn"]["p99_us"] for e in evtchn], no_evtchn)
    put("pipe_rtt_p50_us", [e["pipe"]["p50_us"] for e in evtchn], no_evtchn)
    put("pipe_rtt_p99_us", [e["pipe"]["p99_us"] for e in evtchn], no_evtchn)
    put("sim_evtchn_rtt_vs_pipe", [e["evtchn_vs_pipe_p50"] for e in evtchn], no_evtchn)

    # An engine with nothing to do (IdleCpuBenchmarkTest): its data agent's CPU, beside a thread sleeping 1 ms at a time.
    no_idle = "IdleCpuBenchmarkTest produced no result in this run (see target/bench/bench.log)"
    put("idle_cpu_pct", [i["idle_cpu_pct"] for i in idle], no_idle)
    put("idle_wakeups_per_s", [i.get("idle_wakeups_per_s") for i in idle], no_idle)
    put("idle_process_cpu_pct", [i["process_cpu_pct"] for i in idle], no_idle)
    put("idle_sleep_1ms_cpu_pct", [i["sleep_1ms_cpu_pct"] for i in idle], no_idle)
    put("idle_backends_cpu_pct", [i.get("backends_cpu_pct") for i in idle], no_idle)
    put("idle_backends_wakeups_per_s", [i.get("backends_wakeups_per_s") for i in idle], no_idle)

    # Live migration (MigrationPauseBenchmarkTest): the p50 of 5 pauses of a streaming VM with 64 MiB registered.
    no_migration = "MigrationPauseBenchmarkTest produced no result in this run (see target/bench/bench.log)"
    put("migration_pause_ms", [m["pause_p50_ms"] for m in migration], no_migration)
    put("migration_engine_pause_ms", [m["engine_pause_p50_ms"] for m in migration], no_migration)
    put("migration_stream_gap_ms", [m["baseline_gap_ms"] for m in migration], no_migration)
    put("migration_copy_64m_ms", [m["copy_ms"] for m in migration], no_migration)
    # The same with simulated guests (GuestMigrationPauseBenchmarkTest): the hypervisor suspends, copies and resumes
    # the guest, whose frontend reconnects.
    no_guest_migration = "GuestMigrationPauseBenchmarkTest produced no result in this run (see target/bench/bench.log)"
    put("guest_migration_pause_ms", [m["pause_p50_ms"] for m in guest_migration], no_guest_migration)
    put("guest_migration_engine_pause_ms", [m["engine_pause_p50_ms"] for m in guest_migration], no_guest_migration)
    put("guest_migration_stream_gap_ms", [m["baseline_gap_ms"] for m in guest_migration], no_guest_migration)

    # MPI: NetPIPE between two VMs over vmrdma and between two namespaces over Open MPI's TCP BTL, same round: VMs on
    # two hosts over veth (the bar keys, mpi_netpipe_*) and two VMs of one host (mpi_netpipe_host_*, TCP
    # over a bridge of veths).
    no_mpi = "MpiNetpipeBenchmarkTest produced no result in this run"
    for setup, prefix in (("", "hosts_"), ("host_", "host_")):
        mb = [m.get(prefix + "vmrdma_1m_mib_s") for m in mpi]
        mt = [m.get(prefix + "tcp_1m_mib_s") for m in mpi]
        ml = [m.get(prefix + "vmrdma_lat_us") for m in mpi]
        mtl = [m.get(prefix + "tcp_lat_us") for m in mpi]
        put("mpi_netpipe_%s1m_mib_s" % setup, mb, no_mpi)
        put("mpi_netpipe_%stcp_1m_mib_s" % setup, mt, no_mpi)
        put("mpi_netpipe_%s1m_vs_tcp" % setup, [div(x, y) for x, y in zip(mb, mt)], no_mpi)
        put("mpi_netpipe_%slat_us" % setup, ml, no_mpi)
        put("mpi_netpipe_%stcp_lat_us" % setup, mtl, no_mpi)
        put("mpi_netpipe_%slat_vs_tcp" % setup, [div(x, y) for x, y in zip(ml, mtl)], no_mpi)
    put("mpi_bounce_copy_mib_s", [m.get("bounce_copy_mib_s") for m in mpi], no_mpi)
    put("mpi_bounce_share_1m", [m.get("bounce_share_1m") for m in mpi], no_mpi)

    # Scheduling.
    no_sched = "SchedulingSharesBenchIT produced no result in this run (see target/bench/bench.log)"
    put("jain_equal_weights", [sched.get("jain_equal_weights")] if sched else [], no_sched)
    put("weighted_share_max_err_pct", [sched.get("weighted_share_max_err_pct")] if sched else [], no_sched)
    put("cluster_config_apply_ms", [cluster.get("cluster_config_apply_ms")] if cluster else [],
        "ClusterIT produced no result in this run (see target/bench/bench.log)")
    for policy, suffix in (("rr", ""), ("drr", "_drr")):
        rows = [scale_row(w, policy, 64) for w in wire]
        ones = [scale_row(w, policy, 1) for w in wire]
        why = no_wire if not wire else "the run had no 64-guest or no 1-guest row under " + policy
        put("scale_64vms%s_aggregate_vs_single" % suffix,
            [div(r["mib_s"], o["mib_s"]) if r and o else None for r, o in zip(rows, ones)], why)
        put("wire_1vm%s_mib_s" % suffix, [o["mib_s"] if o else None for o in ones], why)
        put("wire_64vms%s_mib_s" % suffix, [r["mib_s"] if r else None for r in rows], why)
        put("wire_64vms%s_jain" % suffix, [r["jain"] if r else None for r in rows], why)
    sh_ = [w.get("shares") for w in wire]
    put("wire_jain_equal_weights", [x["jain_equal_weights"] if x else None for x in sh_], no_wire)
    put("wire_weighted_share_max_err_pct", [x["weighted_share_max_err_pct"] if x else None for x in sh_], no_wire)
    put("wire_weighted_share_max_err_pp", [x["weighted_share_max_err_pp"] if x else None for x in sh_], no_wire)

    # Incast (IncastBenchmarkTest): N senders through one 10gbit port, with congestion control and without.
    no_incast = "IncastBenchmarkTest produced no result in this run (see target/bench/bench.log)"
    for cc, suffix in (("delay", ""), ("off", "_cc_off")):
        for n in (2, 4, 7):
            rows = [incast_row(r, cc, n) for r in incast]
            put("incast%d%s_goodput_pct_of_limit" % (n, suffix),
                [x["goodput_pct_of_limit"] if x else None for x in rows], no_incast)
            put("incast%d%s_jain" % (n, suffix), [x["jain"] if x else None for x in rows], no_incast)
            put("incast%d%s_retransmit_pct" % (n, suffix), [x["retransmit_pct"] if x else None for x in rows],
                no_incast)
        put("cc%s_convergence_ms" % ("_off" if cc == "off" else ""),
            [r[cc]["join"]["convergence_ms"] if cc in r and r[cc]["join"]["convergence_ms"] >= 0 else None
             for r in incast], no_incast + ", or the joining sender never reached 80 % of a fair share")
    put("incast_senders_per_core", [(max(x["senders"] for x in r["delay"]["rows"]) + 1) / r["cores"]
                                    if "delay" in r else None for r in incast], no_incast)

    load_start = open(os.path.join(a.raw, "load-start.txt")).read().strip() if os.path.exists(
        os.path.join(a.raw, "load-start.txt")) else ""
    load_end = open(os.path.join(a.raw, "load-end.txt")).read().strip() if os.path.exists(
        os.path.join(a.raw, "load-end.txt")) else ""
    commit = sh("git", "-C", root, "rev-parse", "HEAD")
    dirty = sh("git", "-C", root, "status", "--porcelain", "--untracked-files=no") != ""
    java = sh("sh", "-c", "java -version 2>&1 | head -1")
    cpu_model = sh("sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    rounds = max(len(intra), len(guest), len(veth), len(emul), len(wire), len(mpi), len(incast))

    results = {k: round(s.median, 4) for k, s in stats.items()}
    results.update({
        "machine": {"cores": os.cpu_count(), "cpu": cpu_model, "kernel": platform.release(), "jdk": java},
        "commit": commit, "worktree_dirty": dirty, "date": date, "quick": a.quick == "1", "rounds": rounds,
        "load_average_start": load_start, "load_average_end": load_end,
        "spread": {k: {"min": round(min(s.values), 4), "max": round(max(s.values), 4), "n": len(s.values),
                       "wide": s.spread > WIDE} for k, s in stats.items()},
        "missing": missing,
    })
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(results, f, indent=1, sort_keys=False)
        f.write("\n")
    print("[bench] wrote " + a.out)
    if not a.md:
        return

    img = a.img
    os.makedirs(img, exist_ok=True)
    plots = make_plots(img, os.path.join(os.path.dirname(os.path.abspath(a.out)), "plot"), intra, guest, evtchn, veth,
                       emul, sched, wire)
    plots += incast_plots(img, os.path.join(os.path.dirname(os.path.abspath(a.out)), "plot"), incast)

    def v(key, fmt="{:,.0f}"):
        return stats[key].text(fmt) if key in stats else "missing"

    def bar(key, op, limit):
        if key not in stats:
            return "missing"
        x = stats[key].median
        met = x >= limit if op == ">=" else x <= limit
        return ("met" if met else "**not met**") + " (%s %s)" % (op, limit)

    r2 = "{:.2f}"
    r1 = "{:,.1f}"
    md = []
    md.append("# Benchmark results (generated)")
    md.append("")
    md.append("Generated by `./bench.sh%s` on %s — do not edit by hand; the analysis is in "
              "[performance.md](performance.md). Commit `%s`%s." % (" --quick" if a.quick == "1" else "", date,
                                                                 commit[:10], " (with uncommitted changes in the "
                                                                 "work tree)" if dirty else ""))
    md.append("")
    md.append("Machine: %d cores (%s), kernel %s, %s. Load average at the start %s, at the end %s (1, 5, 15 min). "
              "%d round(s); each figure is the median over the rounds with the range in brackets; ⚠ marks a range "
              "wider than 10%% of the median. Ratios are vmrdma / peer per round (same round, back to back), "
              "then the median; over 1 is ahead for bandwidth, under 1 is ahead for latency and CPU."
              % (os.cpu_count(), cpu_model, platform.release(), java, load_start, load_end, rounds))
    md.append("")
    md.append("## The table")
    md.append("")
    md.append("| what | vmrdma | peer / limit | ratio | target | published (seed paper / Xen2MX) |")
    md.append("|---|---:|---:|---:|---|---|")
    md.append("| intra-host guest→guest RDMA WRITE 1 MiB, MiB/s | %s | memcpy %s | %s | %s | — |"
              % (v("intra_write_1m_mib_s"), v("memcpy_1m_mib_s"), v("intra_write_1m_vs_memcpy", r2),
                 bar("intra_write_1m_vs_memcpy", ">=", 0.7)))
    md.append("| intra-host, four processes of one VM writing 1 MiB at once, MiB/s together | %s | one process"
              " over four slots %s |"
              " %s | %s | — |"
              % (v("intra_4proc_write_1m_mib_s"), v("intra_1proc_write_1m_mib_s"),
                 v("intra_4proc_aggregate_vs_single", r2), bar("intra_4proc_aggregate_vs_single", ">=", 0.9)))
    md.append("| the same against one process writing one slot again and again (in the agent core's L2), MiB/s |"
              " %s | %s | %s | — | — |"
              % (v("intra_4proc_write_1m_mib_s"), v("intra_1proc_hot_write_1m_mib_s"),
                 v("intra_4proc_aggregate_vs_hot_single", r2)))
    md.append("| intra-host, the same bytes through Aeron IPC 1.46, MiB/s | %s | Aeron IPC %s | %s | — | — |"
              % (v("intra_write_1m_mib_s"), v("aeron_ipc_mib_s"), v("intra_vs_aeron_ipc", r2)))
    md.append("| engine alone (JMH), RDMA WRITE 1 MiB, MiB/s | %s | Aeron IPC %s | %s (vs memcpy %s) | — | — |"
              % (v("engine_write_1m_mib_s"), v("aeron_ipc_mib_s"), v("engine_write_1m_vs_aeron_ipc", r2),
                 v("engine_write_1m_vs_memcpy", r2)))
    for mtu, tcp_bar in ((9000, 1.5), (65535, 3)):
        md.append("| veth MTU %d, RDMA WRITE 1 MiB, MiB/s | %s | iperf3 TCP %s | %s | %s | — |"
                  % (mtu, v("veth%d_write_1m_mib_s" % mtu), v("veth%d_tcp_mib_s" % mtu),
                     v("veth%d_write_1m_vs_tcp" % mtu, r2), bar("veth%d_write_1m_vs_tcp" % mtu, ">=", tcp_bar)))
        md.append("| veth MTU %d, the same beside the AF_PACKET floor (pinned; busy %s, blocking %s), MiB/s | %s | "
                  "floor %s (%s × TCP) | %s | %s | — |"
                  % (mtu, v("veth%d_floor_busy_mib_s" % mtu), v("veth%d_floor_blocking_mib_s" % mtu),
                     v("veth%d_write_1m_mib_s" % mtu), v("veth%d_floor_mib_s" % mtu), v("veth%d_floor_vs_tcp" % mtu, r2),
                     v("veth%d_write_1m_vs_floor" % mtu, r2), bar("veth%d_write_1m_vs_floor" % mtu, ">=", 0.85)))
        md.append("| veth MTU %d, the same with the payload gathered from registered memory, beside it copied into "
                  "the slots, MiB/s | %s | copied %s | %s | — | — |"
                  % (mtu, v("veth%d_write_1m_mib_s" % mtu), v("veth%d_write_1m_copy_mib_s" % mtu),
                     v("veth%d_write_1m_gather_vs_copy" % mtu, r2)))
        md.append("| veth MTU %d, RDMA WRITE 1 MiB over 4 queue pairs, MiB/s | %s | 1 queue pair %s | %s | %s | — |"
                  % (mtu, v("veth%d_write_1m_4qp_mib_s" % mtu), v("veth%d_write_1m_mib_s" % mtu),
                     v("veth%d_write_1m_4qp_vs_1qp" % mtu, r2), bar("veth%d_write_1m_4qp_vs_1qp" % mtu, ">=", 1.0)))
    md.append("| emulated 10GbE (tbf 10gbit, MTU 9000), MiB/s | %s | limit %.0f; iperf3 TCP %s | %s %% of limit; "
              "%s × TCP | %s; %s | seed 681 MiB/s (57 %%); Xen2MX 1105 MiB/s (93 %%) |"
              % (v("emul10g_write_mib_s"), LIMIT_10GBE_MIB_S, v("emul10g_tcp_mib_s"), v("emul10g_pct_of_limit", r1),
                 v("emul10g_vs_tcp", r2), bar("emul10g_pct_of_limit", ">=", 97), bar("emul10g_vs_tcp", ">=", 0.98)))
    md.append("| emulated 10GbE with frame authentication on, MiB/s | %s | limit %.0f; auth off %s | %s %% of limit; "
              "%s × auth off | %s | — |"
              % (v("emul10g_auth_write_mib_s"), LIMIT_10GBE_MIB_S, v("emul10g_write_mib_s"),
                 v("emul10g_auth_pct_of_limit", r1), v("emul10g_auth_vs_off", r2),
                 bar("emul10g_auth_pct_of_limit", ">=", 95)))
    md.append("| emulated 10GbE, CPU s per GiB, both hosts | %s | iperf3 %s | %s | %s | — |"
              % (v("emul10g_cpu_s_per_gib", r2), v("emul10g_tcp_cpu_s_per_gib", r2), v("emul10g_cpu_vs_tcp", r2),
                 bar("emul10g_cpu_vs_tcp", "<=", 0.5)))
    for mtu in (9000, 65535):
        md.append("| veth MTU %d, nic.udp with UDP_SEGMENT + UDP_GRO, RDMA WRITE 1 MiB, MiB/s | %s | iperf3 TCP %s; "
                  "plain nic.udp %s; nic.udp floor %s | %s × TCP; %s × its floor; %s × AF_PACKET floor; %s × plain "
                  "| reported | — |"
                  % (mtu, v("veth%d_udp_gso_write_1m_mib_s" % mtu), v("veth%d_tcp_mib_s" % mtu),
                     v("veth%d_udp_plain_write_1m_mib_s" % mtu), v("veth%d_udp_gso_floor_mib_s" % mtu),
                     v("veth%d_udp_gso_vs_tcp" % mtu, r2), v("veth%d_udp_gso_vs_udp_floor" % mtu, r2),
                     v("veth%d_udp_gso_vs_floor" % mtu, r2), v("veth%d_udp_gso_vs_plain" % mtu, r2)))
    md.append("| veth MTU 9000 (unshaped), nic.udp with UDP_SEGMENT + UDP_GRO, CPU s per GiB, both hosts | %s | "
              "iperf3 %s | %s | reported | — |"
              % (v("veth9000_udp_gso_cpu_s_per_gib", r2), v("veth9000_tcp_cpu_s_per_gib", r2),
                 v("veth9000_udp_gso_cpu_vs_tcp", r2)))
    md.append("| emulated 10GbE, nic.udp with UDP_SEGMENT + UDP_GRO, CPU s per GiB, both hosts (MiB/s) | %s (%s) | "
              "iperf3 %s; plain nic.udp %s | %s | reported | — |"
              % (v("emul10g_udp_gso_cpu_s_per_gib", r2), v("emul10g_udp_gso_write_mib_s"),
                 v("emul10g_tcp_cpu_s_per_gib", r2), v("emul10g_udp_plain_cpu_s_per_gib", r2),
                 v("emul10g_udp_gso_cpu_vs_tcp", r2)))
    md.append("| emulated 10GbE, guest CPU %% of a core (one guest, 1 MiB `ib_write_bw`, MiB/s) | %s (%s MiB/s) | — "
              "| — | %s | seed 34 %% |"
              % (v("emul10g_guest_cpu_pct", r2), v("emul10g_guest_write_mib_s"),
                 bar("emul10g_guest_cpu_pct", "<=", 5)))
    md.append("| engine↔engine 8 B write, half RTT p50 / p99 µs (veth 9000) | %s / %s | qperf UDP %s (TCP %s) | %s "
              "| %s | Xen2MX 7 µs (14 µs round trip) |"
              % (v("lat_p50_us", r1), v("lat_p99_us", r1), v("udp_lat_us", r1), v("tcp_lat_us", r1),
                 v("lat_vs_udp", r2), bar("lat_vs_udp", "<=", 0.7)))
    md.append("| guest↔guest 8 B write, half RTT p50 / p99 µs (one host, polling; HdrHistogram) | %s / %s | — | — "
              "| %s; %s | — |"
              % (v("guest_lat_p50_us", r1), v("guest_lat_p99_us", r1), bar("guest_lat_p50_us", "<=", 10),
                 bar("guest_lat_p99_us", "<=", 100)))
    md.append("| guest↔guest 8 B send, half RTT p50 / p99 µs (one host, both blocking; HdrHistogram) | %s / %s | — | — "
              "| %s | — |"
              % (v("guest_send_lat_blocking_p50_us", r1), v("guest_send_lat_blocking_p99_us", r1),
                 bar("guest_send_lat_blocking_p50_us", "<=", 20)))
    md.append("| xen.sim event channel round trip p50 / p99 µs (dom0 ↔ guest thread) | %s / %s | pipe %s / %s | %s "
              "| %s | — |"
              % (v("sim_evtchn_rtt_p50_us", r1), v("sim_evtchn_rtt_p99_us", r1), v("pipe_rtt_p50_us", r1),
                 v("pipe_rtt_p99_us", r1), v("sim_evtchn_rtt_vs_pipe", r2), bar("sim_evtchn_rtt_vs_pipe", "<=", 2.0)))
    md.append("| an idle engine (nic.packet on a veth, no guests): its data agent's CPU, %% of a core (wake-ups a "
              "second) | %s (%s) | a thread sleeping 1 ms at a time %s; the whole JVM %s | — | %s | — |"
              % (v("idle_cpu_pct", "{:.3f}"), v("idle_wakeups_per_s", "{:.1f}"), v("idle_sleep_1ms_cpu_pct", "{:.3f}"),
                 v("idle_process_cpu_pct", "{:.3f}"), bar("idle_cpu_pct", "<=", 0.5)))
    md.append("| the same engine with its guest backends bound on xen.sim, no guest device (as the default distribution "
              "runs it), %% of a core (wake-ups a second) | %s (%s) | — | — | %s | — |"
              % (v("idle_backends_cpu_pct", "{:.3f}"), v("idle_backends_wakeups_per_s", "{:.1f}"),
                 bar("idle_backends_cpu_pct", "<=", 0.5)))
    md.append("| live migration of a streaming VM, 64 MiB registered: pause p50 of 5, ms (engine's own) | %s (%s) "
              "| stream's longest gap without one %s; a 64 MiB copy %s | — | %s | — |"
              % (v("migration_pause_ms", r1), v("migration_engine_pause_ms", r1), v("migration_stream_gap_ms", r2),
                 v("migration_copy_64m_ms", r1), bar("migration_pause_ms", "<=", 200)))
    md.append("| live migration of a simulated guest (suspend, copy of its 128 MiB, reconnect), 64 MiB registered: pause "
              "p50 of 5, ms (engines' own) | %s (%s) | stream's longest gap without one %s | — | %s | — |"
              % (v("guest_migration_pause_ms", r1), v("guest_migration_engine_pause_ms", r1),
                 v("guest_migration_stream_gap_ms", r2), bar("guest_migration_pause_ms", "<=", 200)))
    for setup, where, tcp in (("", "VMs on two hosts over veth", "between the two namespaces"),
                              ("host_", "two VMs of one host", "over a bridge of veths")):
        md.append("| MPI NetPIPE 1 MiB, %s, MiB/s | %s | Open MPI TCP BTL %s %s | %s | %s | — |"
                  % (where, v("mpi_netpipe_%s1m_mib_s" % setup), tcp, v("mpi_netpipe_%stcp_1m_mib_s" % setup),
                     v("mpi_netpipe_%s1m_vs_tcp" % setup, r2), bar("mpi_netpipe_%s1m_vs_tcp" % setup, ">=", 1.0)))
        md.append("| MPI NetPIPE 8 B half RTT, %s, µs | %s | Open MPI TCP BTL %s %s | %s | %s | — |"
                  % (where, v("mpi_netpipe_%slat_us" % setup, r1), tcp, v("mpi_netpipe_%stcp_lat_us" % setup, r1),
                     v("mpi_netpipe_%slat_vs_tcp" % setup, r2), bar("mpi_netpipe_%slat_vs_tcp" % setup, "<=", 0.7)))
    md.append("| MPI over vmrdma: share of a 1 MiB NetPIPE message spent in the provider's bounce copies (copy MiB/s) "
              "| %s (%s) | — | — | reported | — |" % (v("mpi_bounce_share_1m", r2), v("mpi_bounce_copy_mib_s")))
    md.append("| across the link: Jain's index, 4 guests, drr equal weights | %s | 1.0 | — | %s | — |"
              % (v("wire_jain_equal_weights", "{:.4f}"), bar("wire_jain_equal_weights", ">=", 0.99)))
    md.append("| across the link: drr weights 1:2:4:8, worst error %% of share (percentage points) | %s (%s) | 0 | — "
              "| %s | — |" % (v("wire_weighted_share_max_err_pct", r2), v("wire_weighted_share_max_err_pp", r2),
                             bar("wire_weighted_share_max_err_pct", "<=", 3)))
    md.append("| across the link: 64 guests, aggregate / one guest's (rr, the default policy; MiB/s) | %s "
              "(%s / %s) | — | — | %s | — |"
              % (v("scale_64vms_aggregate_vs_single", r2), v("wire_64vms_mib_s"), v("wire_1vm_mib_s"),
                 bar("scale_64vms_aggregate_vs_single", ">=", 0.9)))
    md.append("| across the link: 64 guests, aggregate / one guest's (drr, equal weights; MiB/s) | %s (%s / %s) | — "
              "| — | %s | — |"
              % (v("scale_64vms_drr_aggregate_vs_single", r2), v("wire_64vms_drr_mib_s"), v("wire_1vm_drr_mib_s"),
                 bar("scale_64vms_drr_aggregate_vs_single", ">=", 0.9)))
    for n in (2, 4, 7):
        md.append("| incast: %d senders, one 10gbit port, goodput %% of limit (congestion control off) | %s | %s | — | "
                  "%s | — |" % (n, v("incast%d_goodput_pct_of_limit" % n, r1),
                                v("incast%d_cc_off_goodput_pct_of_limit" % n, r1),
                                bar("incast%d_goodput_pct_of_limit" % n, ">=", 90) if n == 7 else "reported"))
    md.append("| incast: 7 senders, Jain's index among them (off) | %s | %s | — | %s | — |"
              % (v("incast7_jain", "{:.3f}"), v("incast7_cc_off_jain", "{:.3f}"), bar("incast7_jain", ">=", 0.95)))
    md.append("| incast: 7 senders, retransmitted %% of frames sent (off) | %s | %s | — | %s | — |"
              % (v("incast7_retransmit_pct", r2), v("incast7_cc_off_retransmit_pct", r2),
                 bar("incast7_retransmit_pct", "<=", 1)))
    md.append("| incast: a 4th sender joining 3, ms to 80 %% of a fair share (off) | %s | %s | — | %s | — |"
              % (v("cc_convergence_ms", r1), v("cc_off_convergence_ms", r1), bar("cc_convergence_ms", "<=", 100)))
    md.append("| intra-host: Jain's index, 3 guests, drr equal weights (distribution) | %s | 1.0 | — | reported | — |"
              % v("jain_equal_weights", "{:.4f}"))
    md.append("| intra-host: weights 1:2:4, worst error %% of share (distribution) | %s | 0 | — | reported | — |"
              % v("weighted_share_max_err_pct", r2))
    md.append("| cluster of 3 dom0s: console change on one to the last other applying it, p50 ms (distribution) "
              "| %s | — | — | reported | — |" % v("cluster_config_apply_ms", "{:.0f}"))
    md.append("")
    md.append("Published figures are from the seed paper's abstract and the Xen2MX papers on real 10GbE hardware; "
              "they are shown for orientation, not measured here. The 10GbE payload "
              "limit (1187 MiB/s at MTU 9000) is computed from the frame overhead.")
    md.append("")
    md.append("## What each row measured")
    md.append("")
    md.append("* **Intra-host guest→guest**: `GuestBenchmarkTest` — two simulated guests in the benchmark's JVM, "
              "every request through the guest library, the shared ring, the dom0 backend and the engine "
              "(`Perftest` `ib_write_bw`); beside it in the same test a copy of the same size between two direct "
              "buffers. Guest client CPU per GiB at 1 MiB: %s s." % v("guest_cpu_s_per_gib_1m", "{:.4f}"))
    md.append("* **Aeron IPC**: `AeronIpcBenchmark` (JMH, `benchmarks/`): an embedded media driver (shared "
              "threading mode), an IPC publication with a 64 MiB term; one operation offers 1 MiB from a direct "
              "buffer and polls until every fragment is copied into the destination buffer. Interleaved with the "
              "engine's `IntraNodeWriteBenchmark` (`rdmaWrite`, `memoryCopy`) per size in `BenchSuite`. The guest "
              "figure is compared with it (guest harness and JMH suite in the same round).")
    md.append("* **Veth**: `VethBenchmarkTest` — two namespaces joined by a veth pair, an engine on nic.packet "
              "(AF_PACKET) in each, each on its own thread, the requester's pinned to core 0 and busy, the "
              "responder's pinned to core 1 with the data agent's idle strategy (sleeping on the socket's readiness "
              "when idle); iperf3 (one TCP stream) first, then the AF_PACKET floor, then the RDMA WRITE rows, then "
              "qperf `udp_lat`/`tcp_lat` and the ping-pong, all on the same link in one test. **The floor** is the "
              "two ports alone moving MTU-sized frames (no payload written, no CRC, no protocol), the sender "
              "pinned to core 0 and the receiver to core 1, measured twice: the receiver busy polling, then "
              "blocking on the socket's readiness whenever a poll came back empty; the better of the two is the "
              "floor the `_vs_floor` ratios divide by.")
    md.append("* **nic.udp**: the same harness, last on each link: the 1 MiB RDMA WRITE between engines on nic.udp "
              "(frames of the link MTU less 28, IPv4 on 169.254.77.0/30), first with UDP_SEGMENT and UDP_GRO (runs of "
              "frames to one peer leave as one super-datagram and arrive coalesced; still one frame per datagram on "
              "the wire), then with both off (plain datagrams), each after nic.udp's own floor (its two ports alone, "
              "MTU-sized frames, no engine), beside the AF_PACKET floor and iperf3 of the same link and run.")
    md.append("* **Emulated 10GbE**: the same harness with `tc qdisc add dev X root tbf rate 10gbit burst 4mb "
              "latency 10ms` on both veth ends at MTU 9000. RDMA WRITE retransmissions during the 1 MiB row: %s. "
              "**CPU**: a cgroup-v1 `cpuacct` group per namespace and contender; the two engine threads are moved in "
              "by thread id (namespace a's thread also runs the requesting application; namespace b's engine "
              "busy-polls, as a dedicated receive core would), iperf3's client and server start inside theirs. "
              "User + system time as the kernel charges it (the veth delivery runs in softirq in the sending "
              "thread's context and is charged to it); divided by the GiB received in the measured window "
              "(vmrdma) or the whole iperf3 run. Machine-wide softirq time is kept in the raw JSON, not added."
              % v("emul10g_retransmissions"))
    md.append("* **Across the link**: `GuestsAcrossLinkBenchmarkTest` — two simulated Xen hosts (xen.sim, an engine "
              "on nic.packet, the guests' backends, one data-agent thread each) in two namespaces over the emulated "
              "10GbE link (tbf 10gbit on both veth ends, MTU 9000); guests on host A write into a sink guest on host "
              "B through the guest library, so the wire is the bottleneck and host A's scheduler decides who uses "
              "it. **Guest CPU**: one guest's `ib_write_bw` (the benchmark core, 1 MiB, blocking on its event channel "
              "when its window is full), its thread's CPU time over the transfer's wall time; host A's data agent "
              "took %s %% of a core meanwhile (it moves the bytes). **Scale**: 1 to 64 guests each flooding 1 MiB "
              "writes (16 queued), aggregate MiB/s from host A's per-domain counters over a window after settling, "
              "under rr (the distribution's default; the key) and drr with equal weights. **Shares**: 4 guests "
              "under drr, equal weights and then 1:2:4:8 (the intra-host test's 1:2:4 doubled once more for the fourth "
              "guest); these are the rows held against the fairness bars."
              % v("emul10g_guest_dom0_agent_cpu_pct"))
    md.append("* **MPI**: `MpiNetpipeBenchmarkTest` — NetPIPE (`NPopenmpi`, Debian's, unmodified) between two ranks, "
              "one size at a time (`-l`/`-u`, `-p 0`), each side three times interleaved and the median kept, every "
              "link at MTU 9000: over vmrdma each rank is a simulated VM (`vmrdma-mpirun`: Open MPI's cm PML, ofi "
              "MTL, `vmrdma;ofi_rxm`), two VMs of one host or one VM on each of two hosts (engines on nic.packet in "
              "two namespaces joined by veth); the baseline is Open MPI's own TCP BTL (ob1) between two ranks in two "
              "network namespaces, on a Linux bridge of veths for one host (what Xen's PV networking gives two VMs) "
              "and on the two hosts' veth pair for two hosts. The TCP ranks bind to no core and yield while polling "
              "(without that, two spinning ranks on two cores starve the kernel's veth receive: ms per message).")
    md.append("* **Incast**: `IncastBenchmarkTest` — hosts in namespaces on one Linux bridge at MTU 9000, the "
              "bridge's port toward the receiver shaped by `tbf rate 10gbit burst 512kb limit 2mb`; an engine on "
              "nic.packet per host, each on a thread of its own (%s threads per core at 7 senders), frame "
              "authentication off; each sender keeps eight 1 MiB RDMA WRITEs posted on one queue pair. Goodput is the "
              "WRITE bytes completed by all senders over the 10GbE limit; retransmissions over all frames the "
              "senders sent; first with congestion control (`delay`), then `off` (fixed 4 MiB windows)."
              % v("incast_senders_per_core", r1))
    md.append("* **Intra-host shares**: `SchedulingSharesBenchIT` — the real distribution, three guest processes "
              "flooding 1 MiB RDMA WRITEs into a sink guest on one host; the shared resource is dom0's data agent, "
              "not the wire (reported beside the wire rows, not held against the bars).")
    md.append("")
    md.append("## Missing")
    md.append("")
    for k, why in missing.items():
        md.append("* `%s`: %s" % (k, why))
    md.append("")
    md.append("## Plots")
    md.append("")
    for title, name in plots:
        md.append("### " + title)
        md.append("")
        md.append("![%s](img/%s)" % (title, name))
        md.append("")
    md.append("## How to rerun")
    md.append("")
    md.append("```")
    md.append("./bench.sh            # full: rebuild, 3 interleaved rounds (about 25 minutes on 2 cores)")
    md.append("./bench.sh --quick    # 1 round, fewer sizes, reuses installed artifacts (under 10 minutes)")
    md.append("```")
    md.append("")
    md.append("Root is needed (namespaces, tc, cgroups). The script installs iperf3, qperf and gnuplot-nox if "
              "missing, holds `/tmp/vmrdma-build.lock` for the whole run, and writes `target/bench/results.json` "
              "(the raw JSON of every harness under `target/bench/raw/`, the log in `target/bench/bench.log`).")
    md.append("")
    with open(a.md, "w") as f:
        f.write("\n".join(md))
    print("[bench] wrote " + a.md)


def scale_row(w, policy, guests):
    for row in w.get("scale_" + policy, []):
        if row["guests"] == guests:
            return row
    return None


def make_plots(img, tmp, intra, guest, evtchn, veth, emul, sched, wire):
    """gnuplot PNGs (data files under tmp); returns [(title, file)]."""
    os.makedirs(tmp, exist_ok=True)
    plots = []

    def med(vals):
        vals = [x for x in vals if x is not None]
        return statistics.median(vals) if vals else None

    def series(path, rows):
        with open(path, "w") as f:
            for r in rows:
                if r[1] is not None:
                    f.write(" ".join(str(x) for x in r) + "\n")

    def gp(script):
        subprocess.run(["gnuplot"], input=script, text=True, check=False)

    # 1. intra-host bandwidth by size
    sizes = sorted({int(s) for r in intra for b in r["results"].values() for s in b} |
                   {row["bytes"] for g in guest for row in g.get("write_bw", [])})
    names = {"guest": "guest→guest RDMA WRITE", "vmrdma_write": "engine RDMA WRITE (JMH)", "memcpy": "memcpy",
             "aeron_ipc": "Aeron IPC"}
    files = []
    for key in ("guest", "vmrdma_write", "memcpy", "aeron_ipc"):
        rows = []
        for s in sizes:
            if key == "guest":
                vals = [row["write_mib_s"] for g in guest for row in g.get("write_bw", []) if row["bytes"] == s]
            else:
                vals = [r["results"].get(key, {}).get(str(s), {}).get("median_mib_s") for r in intra]
            rows.append((s, med(vals)))
        p = os.path.join(tmp, "intra-%s.dat" % key)
        series(p, rows)
        if os.path.getsize(p) > 0:
            files.append((p, names[key]))
    if files:
        gp(plot_script(os.path.join(img, "bench-intra-bw.png"), "Intra-host bandwidth by message size (median)",
                       "message size (bytes)", "MiB/s", files, logy=True))
        plots.append(("Intra-host bandwidth against message size", "bench-intra-bw.png"))

    # 2. veth bandwidth by size, with iperf3 and the emulated link
    files = []
    extra = []
    for mtu in (9000, 65535):
        ls = [l for v in veth for l in v["links"] if l["mtu"] == mtu and not l.get("tbf")]
        if not ls:
            continue
        szs = sorted({row["bytes"] for l in ls for row in l["write"] if row["qps"] == 1})
        p = os.path.join(tmp, "veth-%d.dat" % mtu)
        series(p, [(s, med([row["mib_s"] for l in ls for row in l["write"] if row["bytes"] == s and row["qps"] == 1]))
                   for s in szs])
        files.append((p, "vmrdma, veth MTU %d" % mtu))
        tcp = med([l["iperf3_mib_s"] for l in ls])
        pt = os.path.join(tmp, "veth-%d-tcp.dat" % mtu)
        series(pt, [(szs[0], tcp), (szs[-1], tcp)])
        files.append((pt, "iperf3 TCP, veth MTU %d" % mtu))
    el = [l for v in emul for l in v["links"] if l.get("tbf")]
    if el:
        p = os.path.join(tmp, "emul-vmrdma.dat")
        series(p, [(row["bytes"], med([r["mib_s"] for l in el for r in l["write"] if r["bytes"] == row["bytes"]]))
                   for row in el[0]["write"]])
        files.append((p, "vmrdma, emulated 10GbE"))
        pt = os.path.join(tmp, "emul-tcp.dat")
        tcp = med([l["iperf3_mib_s"] for l in el])
        series(pt, [(4096, tcp), (4 << 20, tcp)])
        files.append((pt, "iperf3 TCP, emulated 10GbE"))
        pl = os.path.join(tmp, "limit.dat")
        series(pl, [(4096, LIMIT_10GBE_MIB_S), (4 << 20, LIMIT_10GBE_MIB_S)])
        files.append((pl, "10GbE payload limit"))
    if files:
        gp(plot_script(os.path.join(img, "bench-veth-bw.png"), "Engine to engine over veth (nic.packet) by size",
                       "message size (bytes)", "MiB/s", files))
        plots.append(("Inter-host (veth, emulated 10GbE) bandwidth against message size", "bench-veth-bw.png"))

    # 3. latency by size
    files = []
    for mtu in (9000, 65535):
        ls = [l for v in veth for l in v["links"] if l["mtu"] == mtu and not l.get("tbf")]
        if not ls or not ls[0]["latency"]:
            continue
        szs = sorted({row["bytes"] for l in ls for row in l["latency"]})
        for q in ("p50_us", "p99_us"):
            p = os.path.join(tmp, "lat-%d-%s.dat" % (mtu, q))
            series(p, [(s, med([row[q] for l in ls for row in l["latency"] if row["bytes"] == s])) for s in szs])
            files.append((p, "vmrdma %s, MTU %d" % (q[:3], mtu)))
        if mtu == 9000:
            for q, name in (("udp_lat_us", "qperf UDP (8 B)"), ("tcp_lat_us", "qperf TCP (8 B)")):
                p = os.path.join(tmp, "lat-%s.dat" % q)
                x = med([l[q] for l in ls])
                series(p, [(szs[0], x), (szs[-1], x)])
                files.append((p, name + ", MTU 9000"))
    if files:
        gp(plot_script(os.path.join(img, "bench-latency.png"), "8 B to 4 KiB write ping-pong, half round trip",
                       "message size (bytes)", "µs", files, logy=True))
        plots.append(("Latency against message size", "bench-latency.png"))

    # 4. latency percentiles, 8 B: guests (polling, blocking), engines over veth, qperf UDP, the event channel
    x_of = {"p50_us": 2, "p90_us": 10, "p99_us": 100, "p99_9_us": 1000}
    files = []

    def spectrum(name, rows, keys, scale=1.0):
        rows = [r for r in rows if r]
        if rows:
            p = os.path.join(tmp, "pct-%d.dat" % len(files))
            series(p, [(x_of[k], med([r[k] * scale for r in rows])) for k in keys])
            files.append((p, name))

    spectrum("guest↔guest polling (ib_write_lat)", [g.get("write_lat_polling") for g in guest],
             ("p50_us", "p90_us", "p99_us", "p99_9_us"))
    spectrum("guest↔guest blocking (ib_send_lat)", [g.get("send_lat_blocking") for g in guest],
             ("p50_us", "p90_us", "p99_us", "p99_9_us"))
    l9 = [link(v, 9000) for v in veth]
    spectrum("engine↔engine, veth 9000", [lat_row(l, 8) for l in l9 if l], ("p50_us", "p99_us", "p99_9_us"))
    udp = med([l["udp_lat_us"] for l in l9 if l])
    if udp is not None:
        p = os.path.join(tmp, "pct-udp.dat")
        series(p, [(2, udp), (1000, udp)])
        files.append((p, "qperf UDP, veth 9000 (its average)"))
    spectrum("xen.sim notify→wake (half the round trip)", [e["evtchn"] for e in evtchn],
             ("p50_us", "p90_us", "p99_us", "p99_9_us"), 0.5)
    if files:
        out = os.path.join(img, "bench-latency-percentiles.png")
        lines = ['set terminal pngcairo size 900,520 font ",10"', 'set output "%s"' % out,
                 'set title "8 B ping-pong, half round trip, by percentile"', 'set xlabel "percentile"',
                 'set ylabel "µs"', "set logscale xy 10", "set grid", "set key outside right top noenhanced",
                 'set xtics ("50" 2, "90" 10, "99" 100, "99.9" 1000)', "set xrange [1.5:1500]"]
        parts = []
        for path, name in files:
            style = "lines dt 2 lw 2" if "qperf" in name else "linespoints lw 2"
            parts.append('"%s" using 1:2 with %s title "%s"' % (path, style, name))
        lines.append("plot " + ", ".join(parts))
        gp("\n".join(lines) + "\n")
        plots.append(("Latency percentiles: guests, engines, UDP, the event channel", "bench-latency-percentiles.png"))

    # 4. per-VM shares under each policy
    if sched:
        p = os.path.join(tmp, "shares.dat")
        with open(p, "w") as f:
            for k, rates in sched.items():
                if isinstance(rates, list) and len(rates) == 3 and sum(rates) > 0:
                    t = sum(rates)
                    f.write('"%s" %f %f %f\n' % (k.replace("_", " "), rates[0] / t, rates[1] / t, rates[2] / t))
        out = os.path.join(img, "bench-shares.png")
        gp("""set terminal pngcairo size 900,480 font ",10"
set output "%s"
set title "Per-VM shares of dom0's data agent under each policy (3 guests, distribution)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "share of bytes"
set yrange [0:1]
set xtics rotate by -20 noenhanced
set key top left
set grid ytics
plot "%s" using 2:xtic(1) title "vm1", "" using 3 title "vm2", "" using 4 title "vm3"
""" % (out, p))
        plots.append(("Per-VM shares under each policy", "bench-shares.png"))

    # 5. aggregate bandwidth across the link against the number of guests
    files = []
    for policy, name in (("rr", "rr (default policy)"), ("drr", "drr, equal weights")):
        counts = sorted({row["guests"] for w in wire for row in w.get("scale_" + policy, [])})
        if not counts:
            continue
        p = os.path.join(tmp, "scale-%s.dat" % policy)
        series(p, [(n, med([r["mib_s"] for w in wire for r in w.get("scale_" + policy, []) if r["guests"] == n]))
                   for n in counts])
        files.append((p, "aggregate, " + name))
    if files:
        pl = os.path.join(tmp, "scale-limit.dat")
        series(pl, [(1, LIMIT_10GBE_MIB_S), (64, LIMIT_10GBE_MIB_S)])
        out = os.path.join(img, "bench-scale.png")
        lines = ['set terminal pngcairo size 900,520 font ",10"', 'set output "%s"' % out,
                 'set title "Guests on one host writing across the emulated 10GbE link (median)"',
                 'set xlabel "guests writing at once"', 'set ylabel "aggregate MiB/s"', "set logscale x 2",
                 "set grid", "set key outside right top noenhanced", "set yrange [0:*]", "set xrange [0.8:80]"]
        parts = ['"%s" using 1:2 with linespoints lw 2 title "%s"' % (f, n) for f, n in files]
        parts.append('"%s" using 1:2 with lines dt 2 lw 2 title "10GbE payload limit"' % pl)
        lines.append("plot " + ", ".join(parts))
        gp("\n".join(lines) + "\n")
        plots.append(("Aggregate bandwidth across the link against the number of guests", "bench-scale.png"))
    return plots


def plot_script(out, title, xlabel, ylabel, files, logy=False):
    lines = ['set terminal pngcairo size 900,520 font ",10"', 'set output "%s"' % out, 'set title "%s"' % title,
             'set xlabel "%s"' % xlabel, 'set ylabel "%s"' % ylabel, "set logscale x 2", "set grid",
             "set key outside right top noenhanced", 'set format x "%.0b%B"']
    if logy:
        lines.append("set logscale y 10")
    plots = []
    for path, name in files:
        style = "linespoints lw 2" if "iperf3" not in name and "qperf" not in name and "limit" not in name \
            else "lines dt 2 lw 2"
        plots.append('"%s" using 1:2 with %s title "%s"' % (path, style, name))
    lines.append("plot " + ", ".join(plots))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
