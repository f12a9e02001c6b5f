package io.vmrdma.xen.sim.internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.xen.sim.guest.SimAbi;
import io.vmrdma.xen.sim.internal.abi.GrantTableView;
import io.vmrdma.xen.sim.internal.abi.PageFile;

/**
 * The toolstack moving a domain to another simulated host, as {@code xl migrate} moves a PV guest that cooperates:
 * <ol>
 *   <li>{@link #suspend}: asks the guest to suspend ({@code control/shutdown} = {@code suspend}) and waits for its
 *       kernel's {@link SimAbi#OP_SCHED_SUSPEND}; makes the domain on the destination (same domain id, name and memory
 *       size) and copies the grant table into it, its in-use bits cleared (pins are per host);</li>
 *   <li>{@link #copyMemory}: copies the guest's memory, once nothing writes it any more (the guest is suspended and
 *       dom0's backends have stopped: the engine paused the domain);</li>
 *   <li>{@link #resume}: the destination takes the copied grants as the guest's, waiting for its processes to reclaim
 *       them, the suspend hypercall returns with the destination's domain directory, and the domain goes from the
 *       source as a destroyed one does, its processes running on; or {@link #cancel}: the suspend returns as
 *       cancelled, the guest runs on where it was, and the destination's copy is destroyed.</li>
 * </ol>
 * Until {@link #resume}, every failure ends in {@link #cancel}. One move per domain at a time.
 */
public final class DomainMove {

    private final SimHypervisor source;
    private final SimHypervisor destination;
    private final SimDomain from;
    private final Suspension suspension;
    private SimDomain to;
    private boolean finished;

    private DomainMove(SimHypervisor source, SimHypervisor destination, SimDomain from, Suspension suspension) {
        this.source = source;
        this.destination = destination;
        this.from = from;
        this.suspension = suspension;
    }

    /**
     * Suspends guest {@code domid} of {@code source} for a move to {@code destination}.
     *
     * @throws XenException ESRCH no such guest, EBUSY already moving, ETIMEDOUT (110) when its kernel did not suspend
     *                      within {@code timeoutMillis}, EEXIST when the destination has its domain id or name; the
     *                      guest then runs on where it was
     */
    public static DomainMove suspend(SimHypervisor source, int domid, SimHypervisor destination, long timeoutMillis)
            throws XenException, InterruptedException {
        SimDomain from = domid == 0 ? null : source.liveDomain(domid);
        if (from == null) {
            throw new XenException("xl migrate", XenErrno.ESRCH, "no guest domain " + domid);
        }
        Suspension suspension = new Suspension();
        synchronized (from) {
            if (from.suspension != null) {
                throw new XenException("xl migrate", XenErrno.EBUSY, "domain " + domid + " is moving already");
            }
            from.suspension = suspension;
        }
        DomainMove move = new DomainMove(source, destination, from, suspension);
        try {
            source.toolstack().write(XenStore.NO_TRANSACTION, move.control(),
                    SimAbi.SHUTDOWN_SUSPEND.getBytes(StandardCharsets.UTF_8));
            if (!suspension.awaitSuspended(timeoutMillis)) {
                throw new XenException("xl migrate", 110, "domain " + domid + " did not suspend within "
                        + timeoutMillis + " ms");
            }
            move.to = destination.receive(domid, from.name, from.memoryBytes);
            copyGrantTable(from.grants, move.to.grants);
            return move;
        } catch (XenException | InterruptedException | RuntimeException e) {
            move.cancel();
            throw e;
        }
    }

    /** The destination's directory of the domain: what the guest's kernel attaches to when it resumes there. */
    public Path destinationDirectory() {
        return to.dir;
    }

    /** Copies the guest's memory to the destination: call when nothing writes it (guest suspended, dom0 paused). */
    public void copyMemory() {
        copy(from.memory, to.memory);
    }

    /** The domain runs on the destination from here; the source lets it go. */
    public synchronized void resume() {
        if (finished) {
            return;
        }
        finished = true;
        to.gntalloc.adoptCopiedTable();
        suspension.moved(to.dir.toString());
        Process process;
        synchronized (source) {
            process = from.process;
        }
        source.departed(from);
        if (process != null) {
            destination.adoptProcess(to, process);
        }
        clearControl(destination, to.domid);
    }

    /** The domain runs on where it was; the destination's copy goes. */
    public synchronized void cancel() {
        if (finished) {
            return;
        }
        finished = true;
        // The request goes before the guest runs again, so its kernel does not take it for a new one.
        clearControl(source, from.domid);
        synchronized (from) {
            from.suspension = null;
        }
        suspension.cancel();
        if (to != null) {
            try {
                destination.destroy(to.domid);
            } catch (XenException e) {
                // it is gone already
            }
        }
    }

    private String control() {
        return "/local/domain/" + from.domid + "/control/shutdown";
    }

    private static void clearControl(SimHypervisor hv, int domid) {
        try {
            hv.toolstack().rm(XenStore.NO_TRANSACTION, "/local/domain/" + domid + "/control/shutdown");
        } catch (XenException e) {
            // the domain is gone
        }
    }

    /**
     * The live entries as the guest wrote them (the only type a guest may use is permit_access); GTF_reading and
     * GTF_writing say who maps an entry on the source host, so they are not copied.
     */
    private static void copyGrantTable(GrantTableView from, GrantTableView to) {
        for (int ref = 0; ref < Math.min(from.entries(), to.entries()); ref++) {
            int word = from.word(ref);
            if ((GrantTableView.flags(word) & SimAbi.GTF_TYPE_MASK) == SimAbi.GTF_PERMIT_ACCESS) {
                to.grant(ref, GrantTableView.domid(word), from.frame(ref),
                        (GrantTableView.flags(word) & SimAbi.GTF_READONLY) != 0);
            }
        }
    }

    private static void copy(PageFile from, PageFile to) {
        long bytes = Math.min(from.pages(), to.pages()) * PageFile.PAGE;
        int chunk = 1 << 30;
        for (long at = 0; at < bytes; at += chunk) {
            int n = (int) Math.min(chunk, bytes - at);
            ByteBuffer src = from.whole().buffer(at, n);
            to.whole().buffer(at, n).put(src);
        }
    }
}
