package io.vmrdma.shell.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.vmrdma.api.Node;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.PeerRegistry;
import io.vmrdma.api.xen.DomainControl;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.shell.internal.completers.PeerNodeCompleter;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

@Command(scope = "vmrdma", name = "bench",
        description = "perftest between two guests: bandwidth (write_bw, read_bw) or latency (write_lat, send_lat)",
        detailedDescription = "Boots two simulated guests on this node (a bench server and a client), runs the test "
                + "with the guest library's benchmark core, prints perftest's table and destroys both; with --node N "
                + "the client guest runs here against the bench server that vmrdma:bench --serve started on node N. "
                + "Bandwidth columns: #bytes, #iterations, BW peak and BW average in MiB/s (perftest's MB/sec), "
                + "MsgRate in millions of messages per second; latency columns: t_min, t_max, t_typical (median), "
                + "t_avg, t_stdev, 99% and 99.9% percentiles in microseconds, half round trips. A progress bar runs "
                + "on a terminal; Ctrl-C stops the test and destroys its guests. --json prints one JSON object per "
                + "size instead. -q N runs a bandwidth test on N queue pairs at once (perftest's -q). "
                + "Simulator only. Examples: vmrdma:bench, vmrdma:bench -s 1m -n 2000 read_bw, vmrdma:bench -a "
                + "write_lat, vmrdma:bench --serve (on node 2), vmrdma:bench --node 2 -D 5")
@Service
public class BenchCommand implements Action {

    static final String NO_SIMULATOR = "vmrdma:bench boots simulated guests and needs the simulator (feature "
            + "vmrdma-xen-sim); on a Xen host run the perftest tools in your guests instead (native/: vmrdma_write_bw "
            + "and the others, or the Java guest tool's bench)";
    static final String RULE = "-".repeat(87);
    /** Rows of one run: -a's powers of two from 2 B to 1 MiB. */
    static final int MAX_ROWS = 20;

    @Argument(index = 0, name = "test",
            description = "write_bw (default), read_bw, write_lat or send_lat: perftest's ib_write_bw, ib_read_bw, "
                    + "ib_write_lat, ib_send_lat")
    @Completion(value = StringsCompleter.class, values = {"write_bw", "read_bw", "write_lat", "send_lat"})
    String test;

    @Option(name = "-s", aliases = "--size",
            description = "Message size: bytes or with K / M (1024, 1024²), e.g. 4096, 64k, 1m; 1 B (8 B for "
                    + "write_lat) to 1 MiB; default 64k for bandwidth, 8 for latency")
    String size;

    @Option(name = "-a", aliases = "--all", description = "Every power of two from 2 B (8 B for write_lat) to -m")
    boolean all;

    @Option(name = "-m", aliases = "--max-size", description = "The largest size of -a (default and most 1m)")
    String maxSize;

    @Option(name = "-n", aliases = "--iters",
            description = "Iterations per size (default 5000 for bandwidth, 1000 for latency)")
    String iterations;

    @Option(name = "-D", aliases = "--duration",
            description = "Seconds per size instead of iterations (1 to 3600; bandwidth tests)")
    String duration;

    @Option(name = "-q", aliases = "--qp",
            description = "Queue pairs (connections) at once, 1 to 16, each running -n iterations (bandwidth tests)")
    String queuePairs;

    @Option(name = "-p", aliases = "--port",
            description = "The connection manager's service id the bench server listens on (perftest's port, "
                    + "default 18515); the same on both nodes")
    String port;

    @Option(name = "--node",
            description = "Run the client here against the bench server on this peer node (start it there with "
                    + "vmrdma:bench --serve)")
    @Completion(PeerNodeCompleter.class)
    String remote;

    @Option(name = "--serve",
            description = "Start a bench server guest on this node for clients on other nodes, and return")
    boolean serve;

    @Option(name = "--idle", description = "With --serve: seconds without a client before the server stops (10 to "
            + "86400, default 600)")
    String idle;

    @Option(name = "--stop", description = "Stop the bench server guest --serve started on this node")
    boolean stop;

    @Option(name = "--json", description = "Print one JSON object per size (perftest's --json fields), no table")
    boolean json;

    @Reference(optional = true)
    DomainControl toolstack;

    /** dom0's access to the hypervisor the toolstack runs the guests on: the simulator's, where their XenStore is. */
    @Reference(optional = true, filter = "(" + Hypervisor.KIND_PROPERTY + "=sim)")
    Hypervisor xen;

    @Reference(optional = true)
    Node node;

    @Reference(optional = true)
    PeerRegistry peers;

    @Reference
    Session session;

    @Override
    public Object execute() throws Exception {
        if (serve && stop) {
            throw new IllegalArgumentException("--serve and --stop exclude each other");
        }
        if (toolstack == null || xen == null) {
            throw new IllegalStateException(NO_SIMULATOR);
        }
        if (node == null) {
            throw new IllegalStateException("the engine is not running (vmrdma:status): no guest can connect");
        }
        if (stop) {
            stopServer();
        } else if (serve) {
            startServer();
        } else {
            run(BenchOptions.check(test, size, all, maxSize, iterations, duration, queuePairs, port));
        }
        return null;
    }

    private void run(BenchOptions options) throws Exception {
        int target = target();
        boolean bar = !json && Terminals.ansi(session);
        BenchGuests.Watcher draw = report -> {
            if (bar) {
                System.out.print(ProgressBar.render(options.test, report));
                System.out.flush();
            }
        };
        List<String> client = new ArrayList<>(List.of("run", Integer.toString(target),
                Long.toString(options.service), options.test));
        client.addAll(options.guestArguments);
        try (BenchGuests guests = new BenchGuests(toolstack, xen, jars())) {
            try {
                if (remote == null) {
                    BenchGuests.Guest server = guests.boot(BenchGuests.SERVER, List.of("serve",
                            Long.toString(options.service), Long.toString(BenchOptions.DEFAULT_IDLE_SECONDS)));
                    if (guests.follow(server, BenchGuests.BOOT_NANOS, draw, "serving") == null) {
                        interrupted();
                        return;
                    }
                }
                BenchGuests.Guest guest = guests.boot(BenchGuests.CLIENT, client);
                if (guests.follow(guest, BenchGuests.SILENCE_NANOS, draw, "done") == null) {
                    interrupted();
                    return;
                }
                if (bar) {
                    System.out.print(ProgressBar.clear());
                }
                print(guests, guest);
            } catch (RuntimeException e) {
                if (bar) {
                    System.out.println();
                }
                throw e;
            }
        }
    }

    /** perftest's block: title, this side and the server, the mode, the column header, a row per size. */
    private void print(BenchGuests guests, BenchGuests.Guest client) throws Exception {
        int rows = guests.count(client, "results", MAX_ROWS);
        if (json) {
            for (int i = 0; i < rows; i++) {
                System.out.println(guests.value(client, "result/" + i + "/json"));
            }
            return;
        }
        System.out.println(RULE);
        System.out.println("                    " + guests.value(client, "title"));
        System.out.println(" " + guests.value(client, "connection") + (remote == null ? " (two local guests)" : ""));
        System.out.println(" " + guests.value(client, "mode"));
        System.out.println(RULE);
        System.out.println(guests.value(client, "header"));
        for (int i = 0; i < rows; i++) {
            System.out.println(guests.value(client, "result/" + i + "/row"));
        }
        System.out.println(RULE);
    }

    /** The node the server runs on: this one, or --node after checking that it is a peer and up. */
    private int target() {
        if (remote == null) {
            return node.nodeId();
        }
        int n;
        try {
            n = Integer.parseInt(remote.trim());
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 0 || n > 65535) {
            throw new IllegalArgumentException("--node takes a node id (0 to 65535), not " + remote);
        }
        if (n == node.nodeId()) {
            return n;
        }
        PeerInfo peer = peers == null ? null : peers.byNode(n).orElse(null);
        if (peer == null) {
            throw new IllegalArgumentException("unknown peer node " + n + ": this node does not know it (vmrdma:peers"
                    + " lists the nodes it knows)");
        }
        if (!peer.up()) {
            throw new IllegalStateException("peer node " + n + " is down: it has not answered for three seconds "
                    + "(vmrdma:peers)");
        }
        return n;
    }

    private void startServer() throws Exception {
        BenchGuests.Guest running = BenchGuests.find(toolstack, BenchGuests.SERVE);
        if (running != null) {
            throw new IllegalStateException("a bench server already runs on this node: " + running.name() + " (dom "
                    + running.domid() + "); vmrdma:bench --stop ends it");
        }
        long service = BenchOptions.service(port);
        long idleSeconds = BenchOptions.idleSeconds(idle);
        try (BenchGuests guests = new BenchGuests(toolstack, xen, jars())) {
            BenchGuests.Guest server = guests.boot(BenchGuests.SERVE, List.of("serve", Long.toString(service),
                    Long.toString(idleSeconds)));
            if (guests.follow(server, BenchGuests.BOOT_NANOS, report -> {
            }, "serving") == null) {
                interrupted();
                return;
            }
            guests.keep(server);
            System.out.println("bench server " + server.name() + " (dom " + server.domid() + ") serving on node "
                    + node.nodeId() + ", service " + service + ": run vmrdma:bench --node " + node.nodeId()
                    + " on another node; it stops after " + idleSeconds + " s without a client, or with "
                    + "vmrdma:bench --stop");
        }
    }

    private void stopServer() throws Exception {
        BenchGuests.Guest running = BenchGuests.find(toolstack, BenchGuests.SERVE);
        if (running == null) {
            throw new IllegalStateException("no bench server runs on this node (vmrdma:bench --serve starts one)");
        }
        String served;
        try (BenchGuests guests = new BenchGuests(toolstack, xen, jars())) {
            served = guests.value(running, "served");
        }
        toolstack.destroy(running.domid());
        System.out.println("bench server " + running.name() + " (dom " + running.domid() + ") stopped; tests served: "
                + (served == null ? 0 : served));
    }

    /** Ctrl-C: says so. The flag is cleared first: writing to an SSH console from an interrupted thread hung it. */
    private static void interrupted() {
        Thread.interrupted();
        System.out.println();
        System.out.println("interrupted: the benchmark's guests are destroyed");
    }

    private static Path jars() {
        return Path.of(System.getProperty("karaf.home", "."), "lib", "guest");
    }
}
