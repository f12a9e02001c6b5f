package io.vmrdma.engine.internal.verbs;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.ScatterGatherList;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.engine.internal.transport.WireQp;

/**
 * A paused domain's vmrdma state as it travels from the source node to the destination (docs/migration.md has the
 * layout): the partitions it is in, then every device it has open (one per guest process) with its number and,
 * device by device, the services it listens on, protection domains, completion queues with the completions not yet polled, memory regions with their
 * keys, queue pairs with their numbers, work queues, PSN positions and connections. Not its memory: the hypervisor moves that, and the destination asks its
 * {@link DomainArrival} for each region's.
 *
 * <p>A queue pair connected to another domain of the source node leaves that domain behind: the two are split into
 * a wire connection with fresh PSNs and a fresh connection id, which the source gives its own end once the move
 * commits ({@link Handover}). One connected to a domain of the destination node is joined with it there, memory to
 * memory ({@link Join}).
 */
final class DomainImage {

    /** The layout's version: the destination refuses an image of another. */
    static final int FORMAT = 3;
    private static final int NO_FAILURE = 0xFF;
    private static final Opcode[] OPCODES = Opcode.values();
    private static final WcStatus[] STATUSES = WcStatus.values();
    private static final WcOpcode[] WC_OPCODES = WcOpcode.values();
    private static final QpState[] STATES = QpState.values();

    /** What the source does for a queue pair of its own once its local peer has left: a wire connection. */
    record Handover(Qp stays, QpAddress moved, int sendPsn, int receivePsn, long connectionId) {
    }

    /**
     * A queue pair that arrived connected to {@code local}, on the destination: the two are joined at commit. The last
     * PSN of each of its requests that was on the wire ({@link Integer#MIN_VALUE} for the others), and the PSN its
     * responder expected next.
     */
    record Join(Qp arrived, QpAddress local, int[] lastPsns, boolean[] reads, int receivePsn) {
    }

    /** An image and what the source does with its local peers when the move commits. */
    record Captured(byte[] bytes, List<Handover> handovers) {
    }

    /** A domain rebuilt on the destination, paused, its devices' objects, and the joins its commit makes. */
    record Restored(DomainVerbs domain, List<ArrivedDevice> devices, List<Join> joins) {
    }

    /** One device rebuilt on the destination and its objects by the names its guest process knew them by. */
    record ArrivedDevice(DeviceVerbs device, ArrivedObjects objects) {
    }

    private DomainImage() {
    }

    /**
     * The state of {@code domain}, paused, bound for node {@code destination}.
     *
     * @throws VerbsException when the domain is in the middle of something a move cannot carry: a connection request
     *                        in progress, connection events not yet polled
     */
    static Captured capture(VerbsEngine engine, DomainVerbs domain, int destination) throws VerbsException {
        List<DeviceVerbs> devices = domain.openDevices();
        for (DeviceVerbs device : devices) {
            if (engine.connections().requestsInProgress(device) || device.cmEventsWaiting() > 0) {
                throw new VerbsException(VerbsErrno.EBUSY, device + " has connection requests in progress or events "
                        + "not yet polled");
            }
        }
        List<Handover> handovers = new ArrayList<>();
        ImageBuffer out = ImageBuffer.writer();
        out.u16(FORMAT).u32(domain.domid()).text(domain.name());
        TreeSet<Integer> pkeys = new TreeSet<>();
        for (Qp qp : domain.qps()) {
            if (qp.pkey() >= 0) {
                pkeys.add(qp.pkey());
            }
        }
        out.u32(pkeys.size());
        pkeys.forEach(out::u16);
        out.u32(devices.size());
        for (DeviceVerbs device : devices) {
            captureDevice(engine, device, destination, out, handovers);
        }
        return new Captured(out.bytes(), handovers);
    }

    private static void captureDevice(VerbsEngine engine, DeviceVerbs device, int destination, ImageBuffer out,
                                      List<Handover> handovers) {
        int node = engine.nodeId();
        DomainVerbs domain = device.domain();
        out.u32(device.devid()).u64(device.process()).u32(device.nextHandle());
        List<Long> services = engine.connections().servicesOf(device);
        out.u32(services.size());
        services.forEach(out::u64);
        out.u32(device.pds().size());
        device.pds().forEach(pd -> out.u32(pd.handle()));
        WorkCompletion wc = new WorkCompletion();
        out.u32(device.cqs().size());
        for (Cq cq : device.cqs()) {
            out.u32(cq.handle()).u32(cq.depth()).u8(cq.overflowed() ? 1 : 0).u32(cq.size());
            for (int k = 0; k < cq.size(); k++) {
                cq.peek(k, wc);
                out.u64(wc.wrId()).u8(wc.status().ordinal()).u8(wc.opcode().ordinal()).u32(wc.byteLength())
                        .u32(wc.qpn()).u8(wc.withImm() ? 1 : 0).u32(wc.immData());
            }
        }
        out.u32(device.regions().size());
        for (Region r : device.regions()) {
            out.u32(r.pd().handle()).u64(r.address()).u32((int) r.length()).u32(r.access()).u32(r.lkey())
                    .u32(r.rkey()).u32(r.grants().pageOffset()).u32(r.grants().refs().length);
            for (int ref : r.grants().refs()) {
                out.u32(ref);
            }
        }
        out.u32(device.qps().size());
        for (Qp qp : device.qps()) {
            engine.processor().abandon(qp);
            out.u32(qp.address().qpn()).u32(qp.pd().handle()).u32(qp.sendCq().handle()).u32(qp.recvCq().handle())
                    .u32(qp.sq.capacity()).u32(qp.rq.capacity()).u32(qp.maxSge()).u8(qp.signalAll() ? 1 : 0)
                    .u8(qp.state().ordinal()).u32(qp.pkey()).u8(qp.retryCount).u8(qp.rnrRetry);
            QpAddress remote = qp.remote();
            Qp localPeer = remote != null && remote.node() == node ? engine.qp(remote) : null;
            if (localPeer != null && localPeer.owner().domain() == domain) {
                remote = new QpAddress(destination, remote.domid(), remote.qpn());
            }
            out.u8(remote == null ? 0 : 1);
            if (remote != null) {
                out.u16(remote.node()).u32(remote.domid()).u32(remote.qpn());
            }
            Connection connection = qp.connection();
            boolean up = connection != null && connection.state().isUp();
            out.u8(up ? 1 : 0).u64(up ? connection.id() : 0);
            WireQp wire = qp.wire();
            boolean onWire = wire != null && qp.state() != QpState.ERR && qp.state() != QpState.RESET;
            int started = 0;
            if (onWire) {
                while (started < qp.sq.size() && wire.started(started)) {
                    started++;
                }
                out.u8(1).u32(started > 0 ? wire.firstPsn(0) : wire.nextPsn()).u32(wire.nextMsn())
                        .u32(wire.expectedPsn()).u32(wire.msnBase()).u64(wire.connectionId());
            } else if (up && localPeer != null && localPeer.owner().domain() != domain) {
                engine.processor().abandon(localPeer);
                int movedPsn = engine.connections().freshPsn();
                int stayingPsn = engine.connections().freshPsn();
                long id = engine.connections().freshId();
                handovers.add(new Handover(localPeer, new QpAddress(destination, domain.domid(), qp.address().qpn()),
                        stayingPsn, movedPsn, id));
                out.u8(1).u32(movedPsn).u32(0).u32(stayingPsn).u32(0).u64(id);
            } else {
                out.u8(0);
            }
            out.u32(qp.sq.size());
            for (int k = 0; k < qp.sq.size(); k++) {
                SendWqe w = qp.sq.peek(k);
                out.u64(w.wrId).u8(w.opcode.ordinal()).u32(w.flags).u64(w.remoteAddress).u32(w.rkey).u32(w.imm);
                sgl(out, w.sgl);
                boolean onTheWire = k < started;
                out.u8(onTheWire ? 1 : 0);
                if (onTheWire) {
                    WcStatus failure = wire.failure(k);
                    out.u64(wire.total(k)).u32(wire.segment(k)).u32(wire.firstPsn(k))
                            .u32(wire.lastPsn(k)).u32(wire.msn(k))
                            .u8(failure == null ? NO_FAILURE : failure.ordinal());
                }
            }
            out.u32(qp.rq.size());
            for (int k = 0; k < qp.rq.size(); k++) {
                RecvWqe r = qp.rq.peek(k);
                out.u64(r.wrId);
                sgl(out, r.sgl);
            }
        }
    }

    private static void sgl(ImageBuffer out, ScatterGatherList sgl) {
        out.u8(sgl.count());
        for (int i = 0; i < sgl.count(); i++) {
            out.u64(sgl.address(i)).u32(sgl.length(i)).u32(sgl.lkey(i));
        }
    }

    /**
     * Rebuilds the domain of {@code image}, which came from node {@code source}, paused, against this node's limits
     * and partitions, with its regions over the memory {@code arrival} gives. On any refusal nothing of it is left.
     *
     * @throws VerbsException why the image cannot be taken: malformed, of another format, over a limit, a number or
     *                        key in use here, a partition this node does not put the domain in, memory refused
     */
    static Restored restore(VerbsEngine engine, int source, byte[] image, DomainArrival arrival)
            throws VerbsException {
        ImageBuffer in = ImageBuffer.reader(image);
        DomainVerbs domain = null;
        try {
            if (in.u16() != FORMAT) {
                throw refused("a domain image of another format than " + FORMAT);
            }
            int domid = in.u32();
            String name = in.text();
            domain = engine.arrivingDomain(domid, name);
            Restored restored = rebuild(engine, source, in, domain, arrival);
            if (!in.atEnd()) {
                throw refused("bytes after the end of the domain image");
            }
            return restored;
        } catch (ImageBuffer.Truncated | RuntimeException e) {
            if (domain != null) {
                engine.discardDomain(domain);
            }
            throw refused(e.getMessage());
        } catch (VerbsException e) {
            if (domain != null) {
                engine.discardDomain(domain);
            }
            throw e;
        }
    }

    private static Restored rebuild(VerbsEngine engine, int source, ImageBuffer in, DomainVerbs domain,
                                    DomainArrival arrival)
            throws ImageBuffer.Truncated, VerbsException {
        int node = engine.nodeId();
        int pkeyCount = in.count(2);
        for (int i = 0; i < pkeyCount; i++) {
            int pkey = in.u16();
            if (!engine.partitions().isMember(domain.name(), pkey)) {
                throw refused(domain + " is not in partition 0x" + Integer.toHexString(pkey) + " on node " + node);
            }
        }
        List<ArrivedDevice> devices = new ArrayList<>();
        List<Join> joins = new ArrayList<>();
        int deviceCount = in.count(36);
        for (int i = 0; i < deviceCount; i++) {
            DeviceVerbs device = domain.openDevice(in.u32(), in.u64());
            devices.add(new ArrivedDevice(device, rebuildDevice(engine, in, device, arrival, joins)));
        }
        return new Restored(domain, devices, joins);
    }

    /** One device's objects, after its number and process: the joins its queue pairs make go to {@code joins}. */
    private static ArrivedObjects rebuildDevice(VerbsEngine engine, ImageBuffer in, DeviceVerbs device,
                                                DomainArrival arrival, List<Join> joins)
            throws ImageBuffer.Truncated, VerbsException {
        int node = engine.nodeId();
        DomainVerbs domain = device.domain();
        device.restoreNextHandle(in.u32());
        int serviceCount = in.count(8);
        for (int i = 0; i < serviceCount; i++) {
            engine.connections().listen(device, in.u64());
        }
        Map<Integer, Pd> pds = new HashMap<>();
        int pdCount = in.count(4);
        for (int i = 0; i < pdCount; i++) {
            int handle = in.u32();
            pds.put(handle, device.restorePd(handle));
        }
        Map<Integer, Cq> cqs = new HashMap<>();
        WorkCompletion wc = new WorkCompletion();
        int cqCount = in.count(13);
        for (int i = 0; i < cqCount; i++) {
            int handle = in.u32();
            Cq cq = device.restoreCq(handle, in.u32());
            cqs.put(handle, cq);
            boolean overflowed = in.u8() != 0;
            int waiting = in.count(23);
            for (int k = 0; k < waiting; k++) {
                wc.set(in.u64(), pick(STATUSES, in.u8()), pick(WC_OPCODES, in.u8()), in.u32(), in.u32(),
                        in.u8() != 0, in.u32());
                if (!cq.restore(wc)) {
                    throw refused(cq + " cannot hold the completions it had");
                }
            }
            if (overflowed) {
                cq.restoreOverflow();
            }
        }
        Map<Integer, io.vmrdma.api.verbs.MemoryRegion> regions = new HashMap<>();
        int regionCount = in.count(36);
        for (int i = 0; i < regionCount; i++) {
            Pd pd = known(pds, in.u32(), "protection domain");
            long address = in.u64();
            int length = in.u32();
            int access = in.u32();
            int lkey = in.u32();
            int rkey = in.u32();
            int pageOffset = in.u32();
            int[] refs = new int[in.count(4)];
            for (int k = 0; k < refs.length; k++) {
                refs[k] = in.u32();
            }
            if (length <= 0) {
                throw refused("a region of " + length + " bytes");
            }
            RegionGrants grants = new RegionGrants(pageOffset, refs);
            ByteBuffer memory = arrival.regionMemory(domain.domid(), domain.name(), address, length, access, grants);
            if (memory == null || !memory.isDirect() || memory.capacity() != length) {
                throw refused("no memory for the region at 0x" + Long.toHexString(address) + " on node " + node);
            }
            device.restoreRegion(pd, memory, address, access, lkey, rkey, grants);
            regions.put(lkey, engine.byLkey(lkey));
        }
        Map<Integer, io.vmrdma.api.verbs.QueuePair> qps = new HashMap<>();
        int qpCount = in.count(40);
        for (int i = 0; i < qpCount; i++) {
            Qp qp = device.restoreQp(in.u32(), known(pds, in.u32(), "protection domain"),
                    known(cqs, in.u32(), "completion queue"), known(cqs, in.u32(), "completion queue"), in.u32(),
                    in.u32(), in.u32(), in.u8() != 0);
            qps.put(qp.address().qpn(), qp);
            QpState state = pick(STATES, in.u8());
            int pkey = in.u32();
            qp.retryCount(Math.min(7, in.u8()));
            qp.rnrRetry(Math.min(7, in.u8()));
            QpAddress remote = in.u8() == 0 ? null : new QpAddress(in.u16(), in.u32(), in.u32());
            boolean up = in.u8() != 0;
            long connectionId = in.u64();
            boolean onWire = in.u8() != 0;
            int sendPsn = 0;
            int nextMsn = 0;
            int receivePsn = 0;
            int msnBase = 0;
            long wireId = 0;
            if (onWire) {
                sendPsn = in.u32();
                nextMsn = in.u32();
                receivePsn = in.u32();
                msnBase = in.u32();
                wireId = in.u64();
            }
            if (pkey != -1 && !engine.partitions().isMember(domain.name(), pkey)) {
                throw refused(domain + " is not in partition 0x" + Integer.toHexString(pkey) + " on node " + node);
            }
            qp.pkey(pkey);
            qp.remote(remote);
            qp.state(state);
            boolean joinsHere = onWire && remote != null && remote.node() == node;
            if (onWire && !joinsHere) {
                qp.replaceWire(WireQp.resumed(qp, sendPsn, nextMsn, receivePsn, msnBase, wireId));
            }
            if (up) {
                qp.joinConnection(Connection.carried(connectionId, qp, pkey, engine.counters()));
            }
            int sends = in.count(35);
            if (sends > qp.sq.capacity()) {
                throw refused(qp + " had more send requests than its queue holds");
            }
            int[] lastPsns = new int[sends];
            boolean[] reads = new boolean[sends];
            for (int k = 0; k < sends; k++) {
                SendWqe w = qp.sq.claim();
                w.wrId = in.u64();
                w.opcode = pick(OPCODES, in.u8());
                w.flags = in.u32();
                w.remoteAddress = in.u64();
                w.rkey = in.u32();
                w.imm = in.u32();
                readSgl(in, w.sgl, qp.maxSge());
                w.done = 0;
                w.total = 0;
                w.started = false;
                qp.sq.commit();
                reads[k] = w.opcode == Opcode.RDMA_READ;
                lastPsns[k] = Integer.MIN_VALUE;
                if (in.u8() != 0) {
                    long total = in.u64();
                    int segment = in.u32();
                    int firstPsn = in.u32();
                    int lastPsn = in.u32();
                    int msn = in.u32();
                    int failure = in.u8();
                    if (!onWire || total < 0 || segment <= 0 || lastPsn - firstPsn < 0) {
                        throw refused(qp + ": a request on the wire that could not have been");
                    }
                    WcStatus refusedWith = failure == NO_FAILURE ? null : pick(STATUSES, failure);
                    if (joinsHere) {
                        lastPsns[k] = refusedWith == null ? lastPsn : Integer.MIN_VALUE;
                    } else {
                        qp.wire().restoreStarted(k, total, segment, firstPsn, lastPsn, msn, refusedWith);
                    }
                }
            }
            int recvs = in.count(9);
            if (recvs > qp.rq.capacity()) {
                throw refused(qp + " had more receives than its queue holds");
            }
            for (int k = 0; k < recvs; k++) {
                RecvWqe r = qp.rq.claim();
                r.wrId = in.u64();
                readSgl(in, r.sgl, qp.maxSge());
                qp.rq.commit();
            }
            if (joinsHere) {
                joins.add(new Join(qp, remote, lastPsns, reads, receivePsn));
            }
        }
        return new ArrivedObjects(new HashMap<>(pds), new HashMap<>(cqs), qps, regions);
    }

    private static void readSgl(ImageBuffer in, ScatterGatherList sgl, int maxSge)
            throws ImageBuffer.Truncated, VerbsException {
        int count = in.u8();
        if (count > maxSge) {
            throw refused(count + " scatter/gather entries, more than the queue pair allows");
        }
        sgl.clear();
        for (int i = 0; i < count; i++) {
            sgl.add(in.u64(), in.u32(), in.u32());
        }
    }

    private static <T> T known(Map<Integer, T> objects, int handle, String what) throws VerbsException {
        T object = objects.get(handle);
        if (object == null) {
            throw refused("the image names " + what + " " + handle + ", which it does not hold");
        }
        return object;
    }

    private static <T> T pick(T[] values, int ordinal) throws VerbsException {
        if (ordinal < 0 || ordinal >= values.length) {
            throw refused("a value out of range in the domain image: " + ordinal);
        }
        return values[ordinal];
    }

    private static VerbsException refused(String why) {
        return new VerbsException(VerbsErrno.EINVAL, why);
    }
}
