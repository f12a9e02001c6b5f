package io.vmrdma.engine.internal.verbs;

/**
 * Which grants a guest's memory region lies over: the refs of its pages, in order, and where in the first page it
 * starts. The region's memory is the backend's map of those grants; on the node a migrated domain arrives at, the
 * hypervisor has the same grants in the domain's copied grant table, so the backend there maps them again
 * ({@link DomainArrival#regionMemory}). {@link #NONE} for memory that is not a guest's grants (in-process domains).
 */
public record RegionGrants(int pageOffset, int[] refs) {

    public static final RegionGrants NONE = new RegionGrants(0, new int[0]);
}
