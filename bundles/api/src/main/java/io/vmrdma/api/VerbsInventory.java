package io.vmrdma.api;

import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The verbs objects of every domain this node serves, for operators ({@code vmrdma:qps}, {@code vmrdma:mrs}, JMX).
 * Registered by the engine while it runs. Each call takes a consistent snapshot on the engine's data thread, so it
 * costs that thread a moment and should not be called in a tight loop.
 *
 * <p>Since 0.3.0 of this package.
 */
@ProviderType
public interface VerbsInventory {

    /** Every queue pair, ordered by domid then queue pair number. */
    List<QueuePairInfo> queuePairs();

    /** Every memory region, ordered by domid then lkey. */
    List<MemoryRegionInfo> memoryRegions();
}
