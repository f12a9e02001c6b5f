package io.vmrdma.guest.internal;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.guest.GuestBuffer;
import io.vmrdma.guest.GuestDevice;
import io.vmrdma.guest.bench.Endpoint;
import io.vmrdma.guest.bench.Perftest;
import io.vmrdma.xen.sim.guest.SimGuest;

/**
 * What a simulated guest runs, under xen.sim's launcher:
 * {@code java -cp <api, xen.sim, guest jars> io.vmrdma.xen.sim.guest.GuestMain io.vmrdma.guest.internal.GuestTool ...}
 *
 * <pre>
 * demo server SERVICE                    echo every SEND back, connection after connection
 * demo client NODE SERVICE [ROUNDS]      SEND a seeded message, check the echo; ROUNDS -1 (default): until stopped
 * bench TEST server SERVICE [SIZE [ITERATIONS]]
 * bench TEST client NODE SERVICE [SIZE [ITERATIONS]]
 *                                        TEST: write_bw, read_bw, write_lat, send_lat (perftest's tests)
 * </pre>
 * Exit status 0, or 1 with a message on standard error.
 */
public final class GuestTool {

    private static final long WAIT = TimeUnit.SECONDS.toNanos(30);
    private static final int MESSAGE = 4096;
    private static final int CONNECT_ATTEMPTS = 150;

    private GuestTool() {
    }

    public static void main(String[] args) throws Exception {
        Hypervisor xen = SimGuest.current();
        if (xen == null || args.length < 2) {
            System.err.println("usage: run under io.vmrdma.xen.sim.guest.GuestMain: demo server SERVICE | demo client"
                    + " NODE SERVICE [ROUNDS] | bench TEST server SERVICE [SIZE [N]] | bench TEST client NODE"
                    + " SERVICE [SIZE [N]]");
            System.exit(1);
        }
        try (GuestDevice dev = GuestDevice.open(xen, 0, GuestDevice.Options.defaults())) {
            System.out.println("vmrdma: device connected, node " + dev.nodeId() + " dom " + dev.domid());
            if (args[0].equals("demo")) {
                demo(dev, Arrays.copyOfRange(args, 1, args.length));
            } else if (args[0].equals("bench")) {
                bench(dev, Arrays.copyOfRange(args, 1, args.length));
            } else {
                throw new IllegalArgumentException("unknown command " + args[0]);
            }
        }
    }

    private static void demo(GuestDevice dev, String[] args) throws VerbsException {
        GuestDevice.Pd pd = dev.allocPd();
        GuestDevice.Cq cq = dev.createCq(64);
        GuestBuffer buf = dev.allocate(2 * MESSAGE);
        GuestDevice.Region mr = dev.register(pd, buf, AccessFlags.LOCAL_WRITE);
        SendWorkRequest send = new SendWorkRequest().opcode(Opcode.SEND).sendFlags(SendFlags.SIGNALED);
        send.sgl().add(mr.address(), MESSAGE, mr.lkey());
        RecvWorkRequest recv = new RecvWorkRequest();
        recv.sgl().add(mr.address() + MESSAGE, MESSAGE, mr.lkey());
        WorkCompletion wc = new WorkCompletion();
        CmEvent event = new CmEvent();
        if (args[0].equals("server")) {
            dev.listen(Long.parseLong(args[1]));
            System.out.println("demo: listening on service " + args[1]);
            while (true) {
                GuestDevice.Qp qp = dev.createQp(pd, cq, cq, 16, 16, 1, false);
                if (!dev.waitCmEvent(event, Long.MAX_VALUE / 4) || event.type() != CmEventType.CONNECT_REQUEST) {
                    dev.destroyQp(qp);
                    continue;
                }
                dev.accept(event.connectionId(), qp, null);
                dev.postRecv(qp, recv);
                System.out.println("demo: serving " + event.remote());
                long echoed = 0;
                while (true) {
                    if (!dev.waitCq(cq, wc, WAIT)) {
                        if (dev.pollCmEvent(event) && event.type() == CmEventType.DISCONNECTED) {
                            break;
                        }
                        continue;
                    }
                    if (wc.status() != WcStatus.SUCCESS) {
                        break;
                    }
                    if (wc.opcode() == WcOpcode.RECV) {
                        buf.buffer().put(0, bytes(buf, MESSAGE, wc.byteLength()));
                        dev.postRecv(qp, recv);
                        send.sgl().clear();
                        send.sgl().add(mr.address(), wc.byteLength(), mr.lkey());
                        dev.postSend(qp, send);
                        echoed++;
                    }
                }
                System.out.println("demo: client gone after " + echoed + " echoes");
                dev.destroyQp(qp);
            }
        }
        int node = Integer.parseInt(args[1]);
        long service = Long.parseLong(args[2]);
        long rounds = args.length > 3 ? Long.parseLong(args[3]) : -1;
        GuestDevice.Qp qp = dev.createQp(pd, cq, cq, 16, 16, 1, false);
        // The server may still be booting: a refusal is retried for a while, as a client of a service would.
        for (int attempt = 1; ; attempt++) {
            dev.connect(qp, node, service, -1, null);
            if (!dev.waitCmEvent(event, WAIT)) {
                throw new IllegalStateException("no answer to the connection request");
            }
            if (event.type() == CmEventType.ESTABLISHED) {
                break;
            }
            if (attempt == CONNECT_ATTEMPTS) {
                throw new IllegalStateException("not connected after " + attempt + " attempts: " + event);
            }
            sleepMillis(200);
        }
        Random random = new Random(dev.domid());
        byte[] message = new byte[MESSAGE];
        for (long round = 1; rounds < 0 || round <= rounds; round++) {
            random.nextBytes(message);
            buf.buffer().put(0, message);
            dev.postRecv(qp, recv);
            dev.postSend(qp, send);
            boolean echoed = false;
            while (!echoed) {
                if (!dev.waitCq(cq, wc, WAIT) || wc.status() != WcStatus.SUCCESS) {
                    throw new IllegalStateException("round " + round + ": " + wc);
                }
                echoed = wc.opcode() == WcOpcode.RECV;
            }
            if (!Arrays.equals(bytes(buf, MESSAGE, MESSAGE), message)) {
                throw new IllegalStateException("round " + round + ": the echo differs");
            }
            if (round % 100 == 0) {
                System.out.println("demo: round " + round + " ok");
            }
            if (rounds < 0) {
                sleepMillis(10);
            }
        }
        dev.disconnect(qp);
        System.out.println("demo: done");
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

    private static byte[] bytes(GuestBuffer buf, int offset, int length) {
        byte[] b = new byte[length];
        ByteBuffer view = buf.buffer();
        view.get(offset, b);
        return b;
    }

    private static void sleepMillis(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
