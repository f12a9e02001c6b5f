package io.vmrdma.sched.testkit;

/** Bytes each VM sent in consecutive windows of the link's clock, counted when a frame's last byte leaves. */
public final class ShareMeter implements Departure {

    private final long windowNanos;
    private final long[][] bytes;

    public ShareMeter(int vms, long windowNanos, int windows) {
        this.windowNanos = windowNanos;
        this.bytes = new long[vms][windows];
    }

    @Override
    public void departed(SimQueue queue, int frameBytes, long arrivedNanos, long leftNanos) {
        long window = leftNanos / windowNanos;
        if (window < bytes[queue.slot()].length) {
            bytes[queue.slot()][(int) window] += frameBytes;
        }
    }

    public long windowNanos() {
        return windowNanos;
    }

    /** Bytes {@code queue} sent in window {@code window}. */
    public long bytes(SimQueue queue, int window) {
        return bytes[queue.slot()][window];
    }

    /** Bytes {@code queue} sent in windows {@code from} (inclusive) to {@code to} (exclusive). */
    public long bytes(SimQueue queue, int from, int to) {
        long sum = 0;
        for (int w = from; w < to; w++) {
            sum += bytes[queue.slot()][w];
        }
        return sum;
    }

    /** Jain's fairness index of the byte counts: 1 when all are equal, 1/n when one VM takes everything. */
    public static double jain(long... counts) {
        double sum = 0;
        double squares = 0;
        for (long c : counts) {
            sum += c;
            squares += (double) c * c;
        }
        return squares == 0 ? 1 : sum * sum / (counts.length * squares);
    }
}
