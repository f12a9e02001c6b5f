package io.vmrdma.guest.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.guest.GuestDevice;
import io.vmrdma.guest.bench.Endpoint;
import io.vmrdma.guest.bench.Perftest;

/**
 * The benchmark guests {@code vmrdma:bench} boots, reporting through XenStore ({@link BenchReport}): a server that
 * serves client after client, each with the test its request names ({@link BenchSpec}), and a client that runs
 * one test against a server on any node. Both then wait for the toolstack to power them off, so dom0 reads the
 * report before the domain, and its XenStore home, goes.
 */
final class BenchGuest {

    /** How long a guest that has reported its end waits for dom0 to read it and power it off. */
    private static final long REPORTED_WAIT_MS = 60_000;
    private static final long POLL = TimeUnit.SECONDS.toNanos(1);

    private BenchGuest() {
    }

    /**
     * {@code serve SERVICE [IDLE_SECONDS]} or {@code run NODE SERVICE TEST [OPTIONS]}; returns when the server has
     * been idle that long (600 s by default) or when the client's report has been read.
     */
    static void main(Hypervisor xen, String[] args) throws Exception {
        try (BenchReport report = new BenchReport(xen)) {
            try {
                if (args[0].equals("serve")) {
                    long idleSeconds = args.length > 2 ? Long.parseLong(args[2]) : 600;
                    try (GuestDevice dev = GuestDevice.open(xen, 0, GuestDevice.Options.defaults())) {
                        serve(dev, report, Long.parseLong(args[1]), TimeUnit.SECONDS.toNanos(idleSeconds));
                    }
                    return;
                }
                BenchSpec spec = BenchSpec.parse(args[3], java.util.Arrays.copyOfRange(args, 4, args.length));
                try (GuestDevice dev = GuestDevice.open(xen, 0, GuestDevice.Options.defaults())) {
                    run(dev, report, Integer.parseInt(args[1]), Long.parseLong(args[2]), spec);
                }
                report.put("state", "done");
            } catch (Exception | Error e) {
                report.failed(e);
                awaitPowerOff();
                throw e;
            }
            awaitPowerOff();
        }
    }

    /** Serves until no client has come for {@code idleNanos}; a failed test is reported and the next one served. */
    static void serve(GuestDevice dev, BenchReport report, long service, long idleNanos)
            throws VerbsException, XenException {
        dev.listen(service);
        report.put("connection", "node " + dev.nodeId() + " dom " + dev.domid() + ", service " + service);
        report.put("served", "0");
        report.put("state", "serving");
        System.out.println("bench: serving on node " + dev.nodeId() + " service " + service);
        CmEvent event = new CmEvent();
        long served = 0;
        long idleSince = System.nanoTime();
        while (System.nanoTime() - idleSince < idleNanos) {
            if (!dev.waitCmEvent(event, POLL) || event.type() != CmEventType.CONNECT_REQUEST) {
                continue;
            }
            BenchSpec spec;
            try {
                spec = BenchSpec.decode(Endpoint.request(event));
            } catch (IllegalArgumentException e) {
                dev.reject(event.connectionId(), "bad request");
                report.put("last-error", "refused a client: " + e.getMessage());
                continue;
            }
            try {
                serveOne(dev, event, spec);
            } catch (VerbsException | RuntimeException e) {
                report.put("last-error", spec.test().shortName() + " from " + event.remote() + ": " + e.getMessage());
                System.out.println("bench: " + spec.test().shortName() + " failed: " + e.getMessage());
            }
            report.put("served", Long.toString(++served));
            idleSince = System.nanoTime();
        }
        System.out.println("bench: no client for " + TimeUnit.NANOSECONDS.toSeconds(idleNanos) + " s, stopping");
    }

    private static void serveOne(GuestDevice dev, CmEvent request, BenchSpec spec) throws VerbsException {
        List<Endpoint> eps = new ArrayList<>();
        eps.add(Endpoint.accept(dev, request, spec.bufferBytes()));
        try {
            // -q: the same client's further connections come next; anything else waits for the next round.
            CmEvent more = new CmEvent();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (eps.size() < spec.queuePairs()) {
                if (System.nanoTime() - deadline > 0) {
                    throw new VerbsException(GuestDevice.ETIMEDOUT, "the client opened " + eps.size() + " of its "
                            + spec.queuePairs() + " connections");
                }
                if (dev.waitCmEvent(more, POLL) && more.type() == CmEventType.CONNECT_REQUEST) {
                    if (more.remote().node() != request.remote().node()
                            || more.remote().domid() != request.remote().domid()) {
                        dev.reject(more.connectionId(), "busy with another client");
                        continue;
                    }
                    eps.add(Endpoint.accept(dev, more, spec.bufferBytes()));
                }
            }
            System.out.println("bench: " + spec.test().shortName() + " for " + request.remote()
                    + (eps.size() > 1 ? " on " + eps.size() + " queue pairs" : ""));
            if (!spec.test().bandwidth()) {
                for (int size : spec.sizes()) {
                    latency(eps.get(0), spec, false, size, Perftest.Progress.NONE);
                }
            }
            // The client measures and ends the test; for bandwidth, this side's memory is the target. A client that
            // never ends is cut off when its spec's time is up, so the server goes on to the next.
            Endpoint.awaitDisconnects(eps, spec.allowedNanos());
        } finally {
            closeAll(eps);
        }
    }

    /** Runs {@code spec} against the server on {@code node}, reporting each size's row as it completes. */
    static void run(GuestDevice dev, BenchReport report, int node, long service, BenchSpec spec)
            throws VerbsException, XenException {
        report.put("title", spec.test().title());
        report.put("mode", spec.mode());
        report.put("state", "connecting");
        List<Endpoint> eps = new ArrayList<>();
        try {
            eps.add(Endpoint.client(dev, node, service, spec.bufferBytes(), spec.encode()));
        } catch (VerbsException e) {
            throw new VerbsException(e.errno(), "no bench server answered on node " + node + " service " + service
                    + " (vmrdma:bench --serve starts one there): " + e.getMessage());
        }
        Endpoint ep = eps.get(0);
        try {
            while (eps.size() < spec.queuePairs()) {
                eps.add(Endpoint.client(dev, node, service, spec.bufferBytes(), spec.encode()));
            }
            report.put("connection", "local " + ep.local() + ", server on node " + node + " service " + service);
            report.put("header", spec.test().bandwidth() ? Perftest.Bandwidth.header() : Perftest.Latency.header());
            report.put("state", "running");
            int[] sizes = spec.sizes();
            for (int i = 0; i < sizes.length; i++) {
                report.put("bytes", Integer.toString(sizes[i]));
                Perftest.Progress progress = report.progress(i, sizes.length);
                String row;
                String json;
                if (spec.test().bandwidth()) {
                    Perftest.Bandwidth bw = Perftest.bandwidth(eps, spec.test(), sizes[i], spec.iterations(),
                            TimeUnit.SECONDS.toNanos(spec.durationSeconds()), progress);
                    row = bw.row();
                    json = bw.json();
                } else {
                    Perftest.Latency lat = latency(ep, spec, true, sizes[i], progress);
                    row = lat.row();
                    json = lat.json();
                }
                System.out.println(row);
                report.result(i, row, json);
                progress.done(1);
            }
        } finally {
            closeAll(eps);
        }
    }

    /** Closes every endpoint, even when one fails to: their shared pages must not outlive a test. */
    private static void closeAll(List<Endpoint> eps) throws VerbsException {
        VerbsException first = null;
        for (Endpoint ep : eps) {
            try {
                ep.close();
            } catch (VerbsException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private static Perftest.Latency latency(Endpoint ep, BenchSpec spec, boolean client, int size,
                                            Perftest.Progress progress)
            throws VerbsException {
        int iterations = (int) spec.iterations();
        return spec.test() == Perftest.Test.WRITE_LAT
                ? Perftest.writeLatency(ep, client, size, iterations, progress)
                : Perftest.sendLatency(ep, client, size, iterations, progress);
    }

    /**
     * Waits for dom0 to read the report and power this domain off (the launcher exits the process then); a guest
     * nobody powers off, as after its dom0 command was killed, ends by itself after a minute.
     */
    private static void awaitPowerOff() throws InterruptedException {
        Thread.sleep(REPORTED_WAIT_MS);
    }
}
