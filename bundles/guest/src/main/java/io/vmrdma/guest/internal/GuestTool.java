package io.vmrdma.guest.internal;

import java.util.Arrays;

import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.guest.GuestDevice;
import io.vmrdma.guest.bench.Endpoint;
import io.vmrdma.guest.bench.Perftest;
import io.vmrdma.xen.sim.guest.SimGuest;

/**
 * What a simulated guest runs, under xen.sim's launcher:
 * {@code java -cp <api, xen.sim, guest jars> io.vmrdma.xen.sim.guest.GuestMain io.vmrdma.guest.internal.GuestTool ...}
 *
 * <pre>
 * demo server SERVICE                    serve the demo's rounds, connection after connection
 * demo client NODE SERVICE [ROUNDS]      rounds of WRITE, WRITE WITH IMM, READ and SEND, each checked byte for
 *                                        byte ({@link Demo}); ROUNDS -1 (default): until stopped
 * flood sink SERVICE                     a window any number of flood clients write into
 * flood client NODE SERVICE SIZE         RDMA WRITE SIZE-byte blocks into the sink without pause, until stopped
 * bench TEST server SERVICE [SIZE [ITERATIONS]]
 * bench TEST client NODE SERVICE [SIZE [ITERATIONS]]
 *                                        TEST: write_bw, read_bw, write_lat, send_lat (perftest's tests)
 * bench serve SERVICE [IDLE_SECONDS]     serve client after client, each with the test it asks for, until idle
 *                                        that long (600 s)
 * bench run NODE SERVICE TEST [-s BYTES] [-a] [-m BYTES] [-n ITERATIONS] [-D SECONDS] [-q QUEUE_PAIRS]
 *                                        one test against a bench server, as perftest's options
 * </pre>
 * {@code bench serve} and {@code bench run} report to dom0 through XenStore ({@link BenchReport}), which is how
 * {@code vmrdma:bench} drives them.
 * Exit status 0, or 1 with a message on standard error.
 */
public final class GuestTool {

    private GuestTool() {
    }

    public static void main(String[] args) throws Exception {
        Hypervisor xen = SimGuest.current();
        if (xen == null || args.length < 2) {
            System.err.println("usage: run under io.vmrdma.xen.sim.guest.GuestMain: demo server SERVICE | demo client"
                    + " NODE SERVICE [ROUNDS] | flood sink SERVICE | flood client NODE SERVICE SIZE"
                    + " | bench TEST server SERVICE [SIZE [N]] | bench TEST client NODE SERVICE [SIZE [N]]"
                    + " | bench serve SERVICE [IDLE_SECONDS] | bench run NODE SERVICE TEST [-s B] [-a] [-m B] [-n N]"
                    + " [-D S] [-q Q]");
            System.exit(1);
        }
        if (args[0].equals("bench") && (args[1].equals("serve") || args[1].equals("run"))) {
            BenchGuest.main(xen, Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        try (GuestDevice dev = GuestDevice.open(xen, 0, GuestDevice.Options.defaults())) {
            System.out.println("vmrdma: device connected, node " + dev.nodeId() + " dom " + dev.domid());
            if (args[0].equals("demo")) {
                demo(dev, Arrays.copyOfRange(args, 1, args.length));
            } else if (args[0].equals("flood")) {
                if (args[1].equals("sink")) {
                    Flood.sink(dev, Long.parseLong(args[2]));
                } else {
                    Flood.client(dev, Integer.parseInt(args[2]), Long.parseLong(args[3]), Integer.parseInt(args[4]));
                }
            } else if (args[0].equals("bench")) {
                bench(dev, Arrays.copyOfRange(args, 1, args.length));
            } else {
                throw new IllegalArgumentException("unknown command " + args[0]);
            }
        }
    }

    private static void demo(GuestDevice dev, String[] args) throws VerbsException {
        if (args[0].equals("server")) {
            Demo.server(dev, Long.parseLong(args[1]));
        } else {
            long rounds = args.length > 3 ? Long.parseLong(args[3]) : -1;
            Demo.client(dev, Integer.parseInt(args[1]), Long.parseLong(args[2]), rounds, rounds < 0 ? 10 : 0);
        }
    }

    private static void bench(GuestDevice dev, String[] args) throws VerbsException {
        Perftest.Test test = Perftest.Test.valueOf(args[0].toUpperCase(java.util.Locale.ROOT));
        boolean server = args[1].equals("server");
        int next = server ? 3 : 4;
        int node = server ? 0 : Integer.parseInt(args[2]);
        long service = Long.parseLong(args[server ? 2 : 3]);
        int size = args.length > next ? Integer.parseInt(args[next]) : test.bandwidth() ? 65536 : 8;
        int iterations = args.length > next + 1 ? Integer.parseInt(args[next + 1]) : test.bandwidth() ? 5000 : 1000;
        int bytes = 2 * Math.max(size, 4096);
        Endpoint ep;
        if (server) {
            ep = Endpoint.listen(dev, service, bytes);
            System.out.println("bench: listening on service " + service);
            ep.accept();
        } else {
            ep = Endpoint.client(dev, node, service, bytes);
        }
        switch (test) {
            case WRITE_BW, READ_BW -> {
                if (!server) {
                    Perftest.Bandwidth bw = Perftest.bandwidth(ep, test, size, iterations);
                    System.out.println(Perftest.Bandwidth.header());
                    System.out.println(bw.row());
                    System.out.println(bw.json());
                }
            }
            case WRITE_LAT, SEND_LAT -> {
                Perftest.Latency lat = test == Perftest.Test.WRITE_LAT
                        ? Perftest.writeLatency(ep, !server, size, iterations)
                        : Perftest.sendLatency(ep, !server, size, iterations);
                if (!server) {
                    System.out.println(Perftest.Latency.header());
                    System.out.println(lat.row());
                    System.out.println(lat.json());
                }
            }
        }
        if (server) {
            // The client measures and ends the test; the server's memory is the target.
            ep.awaitDisconnect();
        }
        ep.close();
    }
}
