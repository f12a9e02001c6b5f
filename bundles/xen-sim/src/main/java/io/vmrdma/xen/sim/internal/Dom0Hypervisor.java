package io.vmrdma.xen.sim.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantCopyBatch;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantMapping;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.GrantStatus;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.xen.sim.internal.abi.EventPorts;
import io.vmrdma.xen.sim.internal.abi.MappedRegion;
import io.vmrdma.xen.sim.internal.abi.XsClient;
import io.vmrdma.xen.sim.internal.abi.XsWire;
import io.vmrdma.xen.sim.internal.xenstore.XenStored;

/**
 * dom0's access to the simulator: the same operations a guest reaches through its sockets, called directly.
 * Every handle opened here is tracked so that stopping the simulator closes what its users left open.
 */
public final class Dom0Hypervisor implements Hypervisor {

    private final SimHypervisor hv;
    private final Set<AutoCloseable> open = ConcurrentHashMap.newKeySet();

    Dom0Hypervisor(SimHypervisor hv) {
        this.hv = hv;
    }

    @Override
    public String kind() {
        return "sim";
    }

    @Override
    public int selfDomid() {
        return 0;
    }

    @Override
    public GrantMapper openGrantMapper() {
        return track(new LocalGrantMapper());
    }

    @Override
    public GrantSharer openGrantSharer() {
        return track(hv.dom0Gntalloc().openSharer());
    }

    @Override
    public EventChannel openEventChannel() throws XenException {
        return track(new LocalEventChannel());
    }

    @Override
    public XenStore openXenStore() throws XenException {
        return track(new XsClient(LocalXsTransport::new));
    }

    private <T extends AutoCloseable> T track(T handle) {
        open.add(handle);
        return handle;
    }

    void closeAll() {
        for (AutoCloseable c : new ArrayList<>(open)) {
            try {
                c.close();
            } catch (Exception e) {
                // closing everything anyway
            }
        }
        open.clear();
    }

    /** A {@code xengnttab} handle of dom0: maps are slices of dom0's whole mapping of the granter's memory. */
    private final class LocalGrantMapper implements GrantMapper {
        private final List<Mapping> mappings = new ArrayList<>();

        @Override
        public GrantMapping mapDomainGrantRefs(int domid, int[] refs, boolean writable) throws XenException {
            String op = "xengnttab_map_domain_grant_refs";
            if (refs.length == 0 || refs.length > io.vmrdma.xen.sim.guest.SimAbi.MAX_MAP_REFS) {
                throw new XenException(op, XenErrno.EINVAL, refs.length + " refs");
            }
            SimDomain granter = hv.liveDomain(domid);
            if (granter == null) {
                hv.counters().increment(SimCounters.Counter.GRANT_REFUSED);
                throw new XenException(op, XenErrno.EINVAL, "GNTST_bad_domain: no domain " + domid);
            }
            GrantOps.Result r = hv.grantOps().map(hv.dom0Domain(), granter, refs, writable);
            if (r.map() == null) {
                throw new XenException(op, XenErrno.EINVAL, "status " + r.status() + " for ref "
                        + refs[r.failedIndex()] + " of domain " + domid);
            }
            GrantMap map = r.map();
            ByteBuffer buffer;
            MappedRegion own = null;
            if (map.contiguous()) {
                buffer = granter.memory.whole().buffer((long) map.frames[0] * PAGE_SIZE, refs.length * PAGE_SIZE);
            } else {
                try {
                    own = granter.memory.mapFrames(map.frames, writable);
                } catch (IOException e) {
                    hv.unmap(map);
                    throw new XenException(op, XenErrno.ENOMEM, e.getMessage());
                }
                buffer = own.buffer(0, refs.length * PAGE_SIZE);
            }
            if (!writable) {
                buffer = buffer.asReadOnlyBuffer().order(ByteOrder.nativeOrder());
            }
            Mapping m = new Mapping(this, map, buffer, own);
            synchronized (this) {
                mappings.add(m);
            }
            return m;
        }

        @Override
        public void setMaxGrants(int count) {
            // Upstream Linux has no such limit (the ioctl is ENOTTY and the library reports success).
        }

        @Override
        public void grantCopy(GrantCopyBatch batch) throws XenException {
            String op = "xengnttab_grant_copy";
            for (int i = 0; i < batch.size(); i++) {
                int off = batch.pageOffset(i);
                int len = batch.length(i);
                if (off < 0 || len < 0 || off + len > PAGE_SIZE) {
                    throw new XenException(op, XenErrno.EINVAL, "segment " + i + ": " + off + "+" + len);
                }
                ByteBuffer local = batch.local(i);
                if (local == null || batch.localOffset(i) < 0 || batch.localOffset(i) + len > local.capacity()
                        || !batch.toGuest(i) && local.isReadOnly()) {
                    throw new XenException(op, XenErrno.EFAULT, "segment " + i + ": bad local buffer");
                }
            }
            for (int i = 0; i < batch.size(); i++) {
                batch.status(i, copy(batch, i));
            }
        }

        private short copy(GrantCopyBatch batch, int i) {
            SimDomain granter = hv.liveDomain(batch.domid(i));
            if (granter == null) {
                hv.counters().increment(SimCounters.Counter.GRANT_REFUSED);
                return GrantStatus.BAD_DOMAIN;
            }
            boolean toGuest = batch.toGuest(i);
            int frame = hv.grantOps().pinForCopy(granter, 0, batch.ref(i), toGuest);
            if (frame < 0) {
                return (short) frame;
            }
            try {
                ByteBuffer page = granter.memory.whole().buffer((long) frame * PAGE_SIZE, PAGE_SIZE);
                ByteBuffer local = batch.local(i);
                if (toGuest) {
                    page.put(batch.pageOffset(i), local, batch.localOffset(i), batch.length(i));
                } else {
                    local.put(batch.localOffset(i), page, batch.pageOffset(i), batch.length(i));
                }
            } finally {
                hv.grantOps().unpinForCopy(granter, batch.ref(i), toGuest);
            }
            return GrantStatus.OKAY;
        }

        synchronized void forget(Mapping m) {
            mappings.remove(m);
        }

        @Override
        public void close() {
            List<Mapping> all;
            synchronized (this) {
                all = new ArrayList<>(mappings);
            }
            all.forEach(Mapping::close);
            open.remove(this);
        }
    }

    private final class Mapping implements GrantMapping {
        private final LocalGrantMapper owner;
        private final GrantMap map;
        private final ByteBuffer buffer;
        private final MappedRegion own;

        Mapping(LocalGrantMapper owner, GrantMap map, ByteBuffer buffer, MappedRegion own) {
            this.owner = owner;
            this.map = map;
            this.buffer = buffer;
            this.own = own;
        }

        @Override
        public ByteBuffer buffer() {
            return buffer;
        }

        @Override
        public int domid() {
            return map.granter.domid;
        }

        @Override
        public int pageCount() {
            return map.refs.length;
        }

        @Override
        public boolean writable() {
            return map.writable;
        }

        @Override
        public void close() {
            if (own != null) {
                own.close();
            }
            hv.unmap(map);
            owner.forget(this);
        }
    }

    /**
     * A {@code xenevtchn} handle of dom0: binds through the simulator's tables directly, then notifies and waits on
     * the channel FIFOs as a guest does.
     */
    private final class LocalEventChannel implements EventChannel, EvtchnHandle {
        private final EventPorts ports = new EventPorts(SimSettings.DOM0_EVENT_CHANNELS);

        LocalEventChannel() throws XenException {
        }

        @Override
        public int domid() {
            return 0;
        }

        @Override
        public int bindUnboundPort(int remoteDomid) throws XenException {
            return bound(hv.eventChannels().bindUnbound(this, remoteDomid));
        }

        @Override
        public int bindInterdomain(int remoteDomid, int remotePort) throws XenException {
            return bound(hv.eventChannels().bindInterdomain(this, remoteDomid, remotePort));
        }

        private int bound(EventChannels.Binding b) throws XenException {
            EventChannels channels = hv.eventChannels();
            try {
                ports.bind(b.port(), channels.fifo(b.channel(), b.side()), channels.fifo(b.channel(), 1 - b.side()));
            } catch (XenException e) {
                channels.unbind(this, b.port());
                throw e;
            }
            return b.port();
        }

        @Override
        public void notify(int port) throws XenException {
            try {
                ports.notify(port);
            } catch (XenException e) {
                hv.counters().increment(SimCounters.Counter.EVTCHN_BAD_PORT);
                throw e;
            }
        }

        @Override
        public int waitPending(long timeoutNanos) throws XenException {
            return ports.awaitFired(timeoutNanos);
        }

        @Override
        public int pollFd() {
            return ports.pollFd();
        }

        @Override
        public void unmask(int port) {
            ports.unmask(port);
        }

        @Override
        public void unbind(int port) throws XenException {
            hv.eventChannels().unbind(this, port);
            ports.unbind(port);
        }

        @Override
        public boolean peerClosed(int port) {
            return ports.bound(port) && hv.eventChannels().unbound(0, port);
        }

        @Override
        public void close() {
            hv.eventChannels().closeHandle(this);
            ports.close();
            open.remove(this);
        }
    }

    /** dom0's XenStore connection: requests go straight into xenstored, replies come straight back. */
    private final class LocalXsTransport implements XsClient.Transport, XenStored.Connection {
        private final XsClient client;
        private XsClient.Reply reply;

        LocalXsTransport(XsClient client) {
            this.client = client;
            hv.xenstored().connect(this, 0);
        }

        @Override
        public synchronized XsClient.Reply call(int type, int tx, byte[] payload) throws XenException {
            if (payload.length > XsWire.PAYLOAD_MAX) {
                throw new XenException("xs_talkv", XenErrno.E2BIG, payload.length + " bytes");
            }
            reply = null;
            hv.xenstored().handle(this, type, 0, tx, payload);
            XsClient.Reply r = reply;
            reply = null;
            if (r == null) {
                throw new XenException("xs_talkv", XenErrno.EIO, "xenstored closed the connection");
            }
            return r;
        }

        @Override
        public void send(int type, int reqId, int txId, byte[] payload) {
            if (type == XsWire.WATCH_EVENT) {
                client.onWatchEvent(payload);
            } else {
                reply = new XsClient.Reply(type, payload);
            }
        }

        @Override
        public void close() {
            hv.xenstored().disconnect(this);
            open.remove(client);
        }
    }
}
