package io.vmrdma.engine.internal.verbs;

import java.nio.ByteBuffer;

import io.vmrdma.api.verbs.VerbsContext;

/**
 * What the destination node's side of the hypervisor does for a domain that migrates here: the hypervisor copied the
 * guest's memory, and the guest's registered buffers must be reachable again (on Xen, the guest grants them anew
 * after resume and the backend maps the grants). The engine asks for each memory region's memory once the domain's
 * state has arrived, while the domain is still paused on the source, and says when the domain runs here.
 */
public interface DomainArrival {

    /**
     * Whether this node's hypervisor has the domain that is offered: it moves a guest's memory before the engines move
     * its vmrdma state, so a domain it does not have is refused (its guest is still on the source's host).
     */
    boolean hosts(int domid, String name);

    /**
     * The memory of a region of the arriving domain: {@code length} bytes at guest address {@code address}, over
     * {@code grants} on the source ({@link RegionGrants#NONE} when it was not a guest's grants), to be reached with
     * {@code access}; a direct buffer of exactly that capacity. Null refuses the migration (the domain stays on the
     * source).
     */
    ByteBuffer regionMemory(int domid, String name, long address, int length, int access, RegionGrants grants);

    /**
     * One device of the domain runs on this node now, with the objects and handles it had; {@code verbs} is that
     * device's context here. Called once for each device the domain had open, in device-number order.
     */
    void arrived(VerbsContext verbs, ArrivedObjects objects);

    /** Its arrival was given up (the source or the link failed before the move committed): let go of its memory. */
    void abandoned(int domid, String name);
}
