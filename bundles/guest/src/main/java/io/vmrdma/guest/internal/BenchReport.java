package io.vmrdma.guest.internal;

import java.nio.charset.StandardCharsets;

import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.guest.bench.Perftest;

/**
 * A benchmark guest's report to dom0, in its own XenStore subtree {@code /local/domain/<domid>/data/vmrdma-bench}
 * (the guest owns {@code data/}; dom0 reads everything). XenStore reaches dom0 from a real domU as from a simulated
 * one, where a guest's standard output does not. Keys, each written when it changes:
 *
 * <pre>
 * state         starting, serving, connecting, running, done, failed (written last, after what it announces)
 * title         perftest's title of the test, e.g. RDMA_Write BW Test
 * connection    this side and its peer: node, domid, queue pair, service
 * mode          what each size runs for (iterations or seconds)
 * header        perftest's column header of the test
 * bytes         the message size being measured now
 * progress      the whole run's progress in thousandths, 0 to 1000
 * results       how many result rows there are; result/N/row and result/N/json, N from 0
 * served        (server) how many tests it has served; last-error: why the last one failed
 * error         (failed) why
 * </pre>
 */
final class BenchReport implements AutoCloseable {

    static final String DIRECTORY = "data/vmrdma-bench";
    private static final int MAX_VALUE = 1024;

    private final XenStore store;
    private final String home;
    private int lastProgress = -1;

    BenchReport(Hypervisor xen) throws XenException {
        store = xen.openXenStore();
        home = store.domainPath(xen.selfDomid()) + "/" + DIRECTORY;
        store.rm(XenStore.NO_TRANSACTION, home);
        put("state", "starting");
    }

    void put(String key, String value) throws XenException {
        store.write(XenStore.NO_TRANSACTION, home + "/" + key, value.getBytes(StandardCharsets.UTF_8));
    }

    /** Progress of size {@code index} of {@code count}, as the whole run's thousandths; unchanged values unsent. */
    Perftest.Progress progress(int index, int count) {
        return fraction -> {
            int permille = (int) Math.min(1000, Math.round((index + fraction) * 1000 / count));
            if (permille != lastProgress) {
                lastProgress = permille;
                try {
                    put("progress", Integer.toString(permille));
                } catch (XenException e) {
                    // A progress bar is not worth failing the measurement for; the result will be reported or fail.
                    System.err.println("bench: progress not reported: " + e.getMessage());
                }
            }
        };
    }

    /** Result row {@code index} in perftest's text and JSON forms, then the count that makes it visible. */
    void result(int index, String row, String json) throws XenException {
        put("result/" + index + "/row", row);
        put("result/" + index + "/json", json);
        put("results", Integer.toString(index + 1));
    }

    /** Reports a failure with the reason dom0 shows, best effort: XenStore itself may be what failed. */
    void failed(Throwable why) {
        String reason = why.getMessage() == null ? why.toString() : why.getMessage();
        try {
            // A XenStore value holds at most 2048 bytes.
            put("error", reason.length() > MAX_VALUE ? reason.substring(0, MAX_VALUE) : reason);
            put("state", "failed");
        } catch (XenException e) {
            System.err.println("bench: could not report the failure: " + e.getMessage());
        }
    }

    @Override
    public void close() throws XenException {
        store.close();
    }
}
