package io.vmrdma.shell.internal;

import java.io.PrintStream;
import java.util.Map;

import io.vmrdma.api.Counter;
import io.vmrdma.api.FrameDrop;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.verbs.WcStatus;
import org.apache.karaf.shell.support.table.ShellTable;

/**
 * Renders one round of {@code vmrdma:stats}: what moved between two samples, as rates over the interval, beside the
 * totals. A domain or peer that appeared during the interval counts from zero (its counters start there); one whose
 * counters went back (a domid reused by a new VM) counts from zero too, never negative.
 */
final class StatsReport {

    private static final Counter[][] REQUESTER = {
        {Counter.SEND_OPS, Counter.SEND_BYTES},
        {Counter.RDMA_WRITE_OPS, Counter.RDMA_WRITE_BYTES},
        {Counter.RDMA_READ_OPS, Counter.RDMA_READ_BYTES}};

    private StatsReport() {
    }

    static void print(StatsSample before, StatsSample after, PrintStream out) {
        double seconds = Math.max(1, after.nanos() - before.nanos()) / 1e9;
        out.printf(java.util.Locale.ROOT, "Interval %.1f s; node: wire out %s MiB/s (%s frames/s), in %s MiB/s "
                + "(%s frames/s), retransmissions %s/s%n", seconds,
                Units.mibPerSecond(delta(before.node(Counter.FRAME_BYTES_SENT), after.node(Counter.FRAME_BYTES_SENT))
                        / seconds),
                Units.perSecond(delta(before.node(Counter.FRAMES_SENT), after.node(Counter.FRAMES_SENT)) / seconds),
                Units.mibPerSecond(delta(before.node(Counter.FRAME_BYTES_RECEIVED),
                        after.node(Counter.FRAME_BYTES_RECEIVED)) / seconds),
                Units.perSecond(delta(before.node(Counter.FRAMES_RECEIVED), after.node(Counter.FRAMES_RECEIVED))
                        / seconds),
                Units.perSecond(delta(before.node(Counter.RETRANSMISSIONS), after.node(Counter.RETRANSMISSIONS))
                        / seconds));
        out.println("Frame drops: " + drops(before, after, seconds));
        out.println();
        domains(before.domains(), after.domains(), seconds, out);
        out.println();
        peers(before.peers(), after.peers(), seconds, out);
    }

    /** The node's drop rate by cause, only the causes that moved; "none" when nothing was dropped. */
    static String drops(StatsSample before, StatsSample after, double seconds) {
        StringBuilder out = new StringBuilder();
        for (FrameDrop drop : FrameDrop.values()) {
            long moved = delta(before.node(drop.counter()), after.node(drop.counter()));
            if (moved > 0) {
                out.append(out.length() == 0 ? "" : ", ").append(drop.description()).append(' ')
                        .append(Units.perSecond(moved / seconds)).append("/s");
            }
        }
        return out.length() == 0 ? "none" : out.toString();
    }

    private static void domains(Map<Integer, StatsSample.DomainCounters> before,
                                Map<Integer, StatsSample.DomainCounters> after, double seconds, PrintStream out) {
        ShellTable table = new ShellTable();
        table.column("Domid").alignRight();
        table.column("Name");
        table.column("Devices");
        table.column("Out MiB/s").alignRight();
        table.column("Out ops/s").alignRight();
        table.column("Recv MiB/s").alignRight();
        table.column("Recv ops/s").alignRight();
        table.column("Errors/s").alignRight();
        table.column("RNR/s").alignRight();
        table.column("Out total").alignRight();
        table.column("Recv total").alignRight();
        after.forEach((domid, now) -> {
            StatsSample.DomainCounters then = before.get(domid);
            long ops = 0;
            long bytes = 0;
            long outTotal = 0;
            for (Counter[] pair : REQUESTER) {
                ops += delta(then, now, pair[0]);
                bytes += delta(then, now, pair[1]);
                outTotal += now.get(pair[1]);
            }
            table.addRow().addContent(domid, now.name(), now.devices(), Units.mibPerSecond(bytes / seconds),
                    Units.perSecond(ops / seconds),
                    Units.mibPerSecond(delta(then, now, Counter.RECV_BYTES) / seconds),
                    Units.perSecond(delta(then, now, Counter.RECV_OPS) / seconds),
                    Units.perSecond(errors(then, now) / seconds),
                    Units.perSecond(delta(then, now, Counter.RNR_NAKS) / seconds),
                    Units.bytes(outTotal), Units.bytes(now.get(Counter.RECV_BYTES)));
        });
        table.print(out);
        if (after.isEmpty()) {
            out.println("(no domains with a connected vmrdma device)");
        }
    }

    /** Completions with an error status: what a guest's application sees fail. */
    private static long errors(StatsSample.DomainCounters then, StatsSample.DomainCounters now) {
        long errors = 0;
        for (WcStatus status : WcStatus.values()) {
            if (status != WcStatus.SUCCESS) {
                errors += delta(then, now, Counter.completions(status));
            }
        }
        return errors;
    }

    private static void peers(Map<Integer, PeerInfo> before, Map<Integer, PeerInfo> after, double seconds,
                              PrintStream out) {
        ShellTable table = new ShellTable();
        table.column("Peer").alignRight();
        table.column("State");
        table.column("RTT µs").alignRight();
        table.column("Frames out/s").alignRight();
        table.column("Frames in/s").alignRight();
        table.column("Retrans/s").alignRight();
        table.column("Retrans total").alignRight();
        after.forEach((node, now) -> {
            PeerInfo then = before.get(node);
            table.addRow().addContent(node, now.up() ? "up" : "down", Units.micros(now.roundTripNanos()),
                    Units.perSecond(delta(then == null ? 0 : then.framesSent(), now.framesSent()) / seconds),
                    Units.perSecond(delta(then == null ? 0 : then.framesReceived(), now.framesReceived()) / seconds),
                    Units.perSecond(delta(then == null ? 0 : then.retransmissions(), now.retransmissions())
                            / seconds),
                    now.retransmissions());
        });
        table.print(out);
        if (after.isEmpty()) {
            out.println("(no peers)");
        }
    }

    private static long delta(StatsSample.DomainCounters then, StatsSample.DomainCounters now, Counter counter) {
        return delta(then == null ? 0 : then.get(counter), now.get(counter));
    }

    /** What a counter moved; a counter that went back started again from zero. */
    static long delta(long then, long now) {
        return now >= then ? now - then : now;
    }
}
