package io.vmrdma.engine.internal.verbs;

/**
 * Per-domain limits, enforced when objects are made. Defaults follow what a real Xen guest can do: 128 MiB of
 * registered memory is about what the default grant table allows a domain to share. {@code maxQueueBytes} bounds
 * the dom0 heap a domain's queue pairs and completion queues may take ({@link QueueMemory}).
 */
record Limits(int maxPds, int maxCqs, int maxQps, int maxMrs, long maxRegisteredBytes, int maxCqDepth,
              int maxQpWr, int maxSge, long maxMessageBytes, long maxQueueBytes) {

    static final Limits DEFAULTS = new Limits(64, 256, 256, 4096, 128L << 20, 65536, 16384, 16, 1L << 30,
            64L << 20);

    Limits {
        positive("maxPds", maxPds);
        positive("maxCqs", maxCqs);
        positive("maxQps", maxQps);
        positive("maxMrs", maxMrs);
        positive("maxRegisteredBytes", maxRegisteredBytes);
        positive("maxCqDepth", maxCqDepth);
        positive("maxQpWr", maxQpWr);
        positive("maxQueueBytes", maxQueueBytes);
        if (maxSge < 1 || maxSge > io.vmrdma.api.verbs.ScatterGatherList.MAX_SGE) {
            throw new IllegalArgumentException("maxSge must be 1.." + io.vmrdma.api.verbs.ScatterGatherList.MAX_SGE
                    + ", not " + maxSge);
        }
        if (maxMessageBytes < 1 || maxMessageBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("maxMessageBytes must be 1.." + Integer.MAX_VALUE + ", not "
                    + maxMessageBytes);
        }
    }

    private static void positive(String name, long value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, not " + value);
        }
    }
}
