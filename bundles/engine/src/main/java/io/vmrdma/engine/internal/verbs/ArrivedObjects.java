package io.vmrdma.engine.internal.verbs;

import java.util.Map;

import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.ProtectionDomain;
import io.vmrdma.api.verbs.QueuePair;

/**
 * A migrated domain's objects on its new node, by the names its guest knew them by: protection domains and completion
 * queues by handle, queue pairs by number, memory regions by lkey. A backend rebinds its handle tables from these.
 */
public record ArrivedObjects(Map<Integer, ProtectionDomain> pds, Map<Integer, CompletionQueue> cqs,
                             Map<Integer, QueuePair> qps, Map<Integer, MemoryRegion> regions) {
}
