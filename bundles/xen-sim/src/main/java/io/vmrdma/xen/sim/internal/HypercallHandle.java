package io.vmrdma.xen.sim.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.xen.sim.guest.SimAbi;
import io.vmrdma.xen.sim.internal.SimCounters.Counter;
import io.vmrdma.xen.sim.internal.abi.Gntalloc;

/**
 * One guest connection on {@code hypercall.sock}: an event-channel, grant-map and grant-sharing handle at once.
 * Every request gets a reply whose first word is the result (negative errno on failure); a bind's reply names the
 * channel FIFOs the guest then notifies and waits through on its own. Closing the connection (or the process
 * dying) unbinds its ports, unmaps its grant maps and ends its shares, as closing the device fds does; the other
 * processes of the domain keep theirs.
 */
final class HypercallHandle implements SimIo.Protocol, EvtchnHandle {

    private static final int EPROTO = 71;

    private final SimHypervisor hv;
    private final SimDomain domain;
    private final Map<Integer, GrantMap> maps = new HashMap<>();
    /** This handle's shares of the domain's pages, by first frame; made at the first share. */
    private final Map<Integer, Gntalloc.Shared> shares = new HashMap<>();
    private Gntalloc.Sharer sharer;
    private int nextMapHandle = 1;
    private boolean greeted;

    HypercallHandle(SimHypervisor hv, SimDomain domain) {
        this.hv = hv;
        this.domain = domain;
    }

    @Override
    public int domid() {
        return domain.domid;
    }

    @Override
    public int maxPayload() {
        return SimAbi.MAX_PAYLOAD;
    }

    @Override
    public void onOversize(SimIo.SimConnection c, int length) {
        hv.counters().increment(Counter.HYPERCALL_MALFORMED);
    }

    @Override
    public void onMessage(SimIo.SimConnection c, int op, int reqId, int reserved, byte[] payload) {
        ByteBuffer args = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        byte[] reply;
        try {
            if (op == SimAbi.OP_SCHED_SUSPEND && greeted) {
                suspend(c, reqId);
                return;
            }
            reply = handle(op, args);
        } catch (XenException e) {
            reply = le(-e.errno());
        } catch (java.nio.BufferUnderflowException e) {
            hv.counters().increment(Counter.HYPERCALL_MALFORMED);
            reply = le(-XenErrno.EINVAL);
        }
        c.send(op, reqId, 0, reply);
    }

    private byte[] handle(int op, ByteBuffer args) throws XenException {
        if (op == SimAbi.OP_HELLO) {
            if (args.getInt() != SimAbi.VERSION) {
                hv.counters().increment(Counter.HYPERCALL_MALFORMED);
                return le(-EPROTO);
            }
            greeted = true;
            return le(0, domain.domid);
        }
        if (!greeted) {
            hv.counters().increment(Counter.HYPERCALL_MALFORMED);
            return le(-EPROTO);
        }
        EventChannels evtchn = hv.eventChannels();
        switch (op) {
            case SimAbi.OP_EVTCHN_BIND_UNBOUND:
                return bound(evtchn.bindUnbound(this, args.getInt()));
            case SimAbi.OP_EVTCHN_BIND_INTERDOMAIN:
                return bound(evtchn.bindInterdomain(this, args.getInt(), args.getInt()));
            case SimAbi.OP_EVTCHN_UNBIND:
                evtchn.unbind(this, args.getInt());
                return le(0);
            case SimAbi.OP_GNTTAB_MAP:
                return map(args);
            case SimAbi.OP_GNTALLOC_SHARE:
                return share(args.getInt(), (args.getInt() & 1) != 0, args.getInt());
            case SimAbi.OP_GNTALLOC_UNSHARE: {
                Gntalloc.Shared shared = shares.remove(args.getInt());
                if (shared == null) {
                    hv.counters().increment(Counter.HYPERCALL_MALFORMED);
                    return le(-XenErrno.EINVAL);
                }
                shared.close();
                return le(0);
            }
            case SimAbi.OP_GNTALLOC_RECLAIM:
                return reclaim(args);
            case SimAbi.OP_GNTTAB_UNMAP: {
                GrantMap map = maps.remove(args.getInt());
                if (map == null) {
                    hv.counters().increment(Counter.HYPERCALL_MALFORMED);
                    return le(-XenErrno.EINVAL);
                }
                hv.unmap(map);
                return le(0);
            }
            default :
                hv.counters().increment(Counter.HYPERCALL_MALFORMED);
                return le(-XenErrno.ENOSYS);
        }
    }

    /**
     * The guest's kernel suspends: answered when the toolstack resumes the domain ({@link Suspension}). Only after the
     * toolstack asked, and once: otherwise EINVAL at once.
     */
    private void suspend(SimIo.SimConnection c, int reqId) {
        Suspension suspension;
        synchronized (domain) {
            suspension = domain.suspension;
        }
        if (suspension == null || !suspension.suspended(c, reqId)) {
            hv.counters().increment(Counter.HYPERCALL_MALFORMED);
            c.send(SimAbi.OP_SCHED_SUSPEND, reqId, 0, le(-XenErrno.EINVAL));
        }
    }

    /** Request {first frame, count, refs[count]}: a share this process held before its domain moved here. */
    private byte[] reclaim(ByteBuffer args) throws XenException {
        int firstFrame = args.getInt();
        int count = args.getInt();
        if (count <= 0 || count > SimAbi.MAX_MAP_REFS || args.remaining() != 4 * count) {
            hv.counters().increment(Counter.HYPERCALL_MALFORMED);
            return le(-XenErrno.EINVAL);
        }
        int[] refs = new int[count];
        for (int i = 0; i < count; i++) {
            refs[i] = args.getInt();
        }
        if (sharer == null) {
            sharer = domain.gntalloc.openSharer();
        }
        shares.put(firstFrame, sharer.reclaim(firstFrame, refs));
        return le(0);
    }

    /** Reply {port, channel, side}: the port waits on FIFO {@code channels/<channel>.<side>}. */
    private static byte[] bound(EventChannels.Binding b) {
        return le(b.port(), b.channel(), b.side());
    }

    /**
     * Grants {@code count} adjacent pages through the domain's one allocator, so processes sharing at once never get
     * the same page or ref. The count is bounded by gntalloc's limit before anything is allocated.
     */
    private byte[] share(int peerDomid, boolean writable, int count) throws XenException {
        if (count <= 0 || count > SimAbi.MAX_MAP_REFS) {
            hv.counters().increment(Counter.HYPERCALL_MALFORMED);
            return le(-XenErrno.EINVAL);
        }
        if (sharer == null) {
            sharer = domain.gntalloc.openSharer();
        }
        Gntalloc.Shared shared = (Gntalloc.Shared) sharer.sharePages(peerDomid, count, writable);
        shares.put(shared.firstFrame(), shared);
        int[] reply = new int[1 + count];
        reply[0] = shared.firstFrame();
        for (int i = 0; i < count; i++) {
            reply[1 + i] = shared.ref(i);
        }
        return le(reply);
    }

    /** Request {domid, flags, count, refs[count]}; reply {handle, status 0, frames[count]} or {-errno, GNTST}. */
    private byte[] map(ByteBuffer args) {
        int granterDomid = args.getInt();
        boolean writable = (args.getInt() & 1) != 0;
        int count = args.getInt();
        if (count <= 0 || count > SimAbi.MAX_MAP_REFS || args.remaining() != 4 * count) {
            hv.counters().increment(Counter.HYPERCALL_MALFORMED);
            return le(-XenErrno.EINVAL, io.vmrdma.api.xen.GrantStatus.GENERAL_ERROR);
        }
        int[] refs = new int[count];
        for (int i = 0; i < count; i++) {
            refs[i] = args.getInt();
        }
        SimDomain granter = hv.liveDomain(granterDomid);
        if (granter == null) {
            hv.counters().increment(Counter.GRANT_REFUSED);
            return le(-XenErrno.EINVAL, io.vmrdma.api.xen.GrantStatus.BAD_DOMAIN);
        }
        GrantOps.Result r = hv.grantOps().map(domain, granter, refs, writable);
        if (r.map() == null) {
            return le(-XenErrno.EINVAL, r.status());
        }
        int handle = nextMapHandle++;
        maps.put(handle, r.map());
        ByteBuffer out = ByteBuffer.allocate(8 + 4 * count).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(handle).putInt(0);
        for (int f : r.map().frames) {
            out.putInt(f);
        }
        return out.array();
    }

    @Override
    public void onClose(SimIo.SimConnection c) {
        hv.eventChannels().closeHandle(this);
        for (GrantMap map : maps.values()) {
            if (domain.dying) {
                hv.counters().increment(Counter.DEAD_DOMAIN_MAPPINGS_RELEASED);
            }
            hv.unmap(map);
        }
        maps.clear();
        if (sharer != null) {
            // Grants the backend still has mapped wait on the allocator's deferred list, pages and refs unused.
            sharer.close();
            shares.clear();
        }
    }

    private static byte[] le(int... words) {
        ByteBuffer b = ByteBuffer.allocate(4 * words.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int w : words) {
            b.putInt(w);
        }
        return b.array();
    }
}
