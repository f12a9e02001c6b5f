package io.vmrdma.shell.internal;

import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.Node;
import io.vmrdma.api.PeerRegistry;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.Session;

@Command(scope = "vmrdma", name = "stats",
        description = "Live traffic per VM and per peer: MiB/s, ops/s, errors and retransmissions over an interval",
        detailedDescription = "Samples the counters, waits one interval, samples again and prints the rates between "
                + "the two with the totals. Per VM, 'Out' is what the VM moved as requester (SEND, RDMA WRITE, RDMA "
                + "READ), 'Recv' what incoming messages placed in its receive buffers, 'Errors' completions with an "
                + "error status and 'RNR' receiver-not-ready NAKs (a receiver short of receives). Per peer, frames "
                + "each way and retransmissions (loss, or a peer too slow). With -i it keeps refreshing in place "
                + "until Ctrl-C; -n stops after that many rounds.")
@Service
public class StatsCommand implements Action {

    /** ANSI: cursor home, clear screen, so each round replaces the previous one on a real terminal. */
    private static final String CLEAR = "\033[H\033[2J";

    @Option(name = "-i", aliases = "--interval", description = "Seconds between rounds (0.1 to 3600, default 1); "
            + "without -n, keeps refreshing until Ctrl-C")
    String interval;

    @Option(name = "-n", aliases = "--count", description = "Number of rounds (default 1, or unbounded with -i)")
    String count;

    @Reference(optional = true)
    Node node;

    @Reference(optional = true)
    DomainRegistry domains;

    @Reference(optional = true)
    PeerRegistry peers;

    @Reference
    Session session;

    @Override
    public Object execute() {
        long intervalNanos = Math.round(StatsOptions.seconds(interval) * 1e9);
        long rounds = StatsOptions.rounds(count, interval != null);
        if (node == null || domains == null || peers == null) {
            System.out.println("engine not running: no counters");
            return null;
        }
        boolean inPlace = interval != null && rounds != 1 && Terminals.ansi(session);
        StatsSample before = sample();
        for (long round = 0; round < rounds; round++) {
            if (!sleep(intervalNanos)) {
                break;
            }
            StatsSample after = sample();
            if (inPlace) {
                System.out.print(CLEAR);
            } else if (round > 0) {
                System.out.println();
            }
            StatsReport.print(before, after, System.out);
            System.out.flush();
            before = after;
        }
        return null;
    }

    private StatsSample sample() {
        return StatsSample.take(System.nanoTime(), node, domains.domains(), peers.peers());
    }

    /** Waits one interval; false when Ctrl-C (which interrupts the command's thread) ended it. */
    private static boolean sleep(long nanos) {
        try {
            Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
            return true;
        } catch (InterruptedException e) {
            // Ctrl-C: the normal way out of an endless refresh; leave the flag for Karaf to clear.
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
