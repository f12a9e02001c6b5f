package io.vmrdma.api;

/**
 * One registered memory region as the engine holds it at one moment, for operators.
 *
 * <p>Since 0.3.0 of this package.
 *
 * @param domid    the domain that registered it
 * @param lkey     its local key
 * @param rkey     its remote key
 * @param address  the guest virtual address it starts at
 * @param length   its length in bytes
 * @param access   its {@link io.vmrdma.api.verbs.AccessFlags} bits
 * @param inFlight work requests queued on this node (send and receive queues of its domain) whose scatter/gather
 *                 entries name its lkey: what still needs the region, so what deregistering it now would break
 */
public record MemoryRegionInfo(int domid, int lkey, int rkey, long address, long length, int access, int inFlight) {
}
