package io.vmrdma.xen.sim.internal;

import java.nio.file.Path;

import io.vmrdma.xen.sim.internal.abi.Gntalloc;
import io.vmrdma.xen.sim.internal.abi.GrantTableView;
import io.vmrdma.xen.sim.internal.abi.PageFile;

/**
 * One domain as the hypervisor holds it: its memory and grant table (dom0's whole-file mappings of the guest's
 * files), the allocator that hands their pages and refs to the guest's processes, the pins Xen keeps per grant entry
 * (its "active" entries), and its guest process.
 */
final class SimDomain {

    final int domid;
    final String name;
    final long memoryBytes;
    final Path dir;
    final PageFile memory;
    final PageFile grantTableFile;
    final GrantTableView grants;
    /** The domain's one page and grant-ref allocator, shared by every process of the guest (its kernel's gntalloc). */
    final Gntalloc gntalloc;
    /** Per grant ref: read-only pins, writable pins, and the frame cached at the first pin (Xen's active entry). */
    final int[] readPins;
    final int[] writePins;
    final int[] pinnedFrame;
    /** Grant maps this domain holds on other domains' pages (its maptrack entries in use). */
    int maptrackUsed;
    /** Pins other domains hold on this domain's grants; a dying domain's memory goes when this reaches 0. */
    int foreignPins;
    boolean dying;
    boolean released;
    /** The suspend the toolstack asked for (for a move), or null. */
    Suspension suspension;
    Process process;

    SimDomain(int domid, String name, long memoryBytes, Path dir, PageFile memory, PageFile grantTableFile,
              int gntallocLimit) {
        this.domid = domid;
        this.name = name;
        this.memoryBytes = memoryBytes;
        this.dir = dir;
        this.memory = memory;
        this.grantTableFile = grantTableFile;
        this.grants = new GrantTableView(grantTableFile.whole().buffer(0, (int) grantTableFile.whole().length()));
        this.readPins = new int[grants.entries()];
        this.writePins = new int[grants.entries()];
        this.pinnedFrame = new int[grants.entries()];
        this.gntalloc = new Gntalloc(domid, memory, grants, gntallocLimit);
    }

    long pages() {
        return memory.pages();
    }
}
