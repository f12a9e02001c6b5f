package io.vmrdma.engine.internal.backend;

import static io.vmrdma.api.guest.GuestAbi.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.ProtectionDomain;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.QpInitAttributes;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.ScatterGatherList;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantMapping;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.engine.internal.verbs.ArrivedObjects;
import io.vmrdma.engine.internal.verbs.BackendVerbs;
import io.vmrdma.engine.internal.verbs.RegionGrants;
import org.agrona.collections.Int2ObjectHashMap;

/**
 * Carries out one guest's requests, each already copied out of the shared ring, against its verbs context. The
 * guest names objects by handles that only resolve in its own tables, so another domain's handles are EINVAL;
 * registered memory is the guest's grants mapped once here and unmapped at deregistration.
 */
final class GuestCommands {

    /** A registration: the engine's region over the mapping of the guest's granted pages. */
    private record Registered(MemoryRegion region, GrantMapping mapping, int pages) {
    }

    private final int domid;
    private final VerbsContext verbs;
    private final GrantMapper mapper;
    private final GrantBudget grants;
    private final Int2ObjectHashMap<ProtectionDomain> pds = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<CompletionQueue> cqs = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<QueuePair> qps = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<Registered> mrs = new Int2ObjectHashMap<>();
    private final QpInitAttributes init = new QpInitAttributes();
    private final QpAttributes modify = new QpAttributes();
    private final SendWorkRequest send = new SendWorkRequest();
    private final RecvWorkRequest recv = new RecvWorkRequest();
    private long badRequests;
    private long unexpected;

    GuestCommands(int domid, VerbsContext verbs, GrantMapper mapper, GrantBudget grants) {
        this.domid = domid;
        this.verbs = verbs;
        this.mapper = mapper;
        this.grants = grants;
    }

    /**
     * The commands of a device that migrated here, its objects under the handles its guest knows and each region over
     * the mapping of its grants made here ({@code mappings} by the region's first grant ref, handed over).
     */
    static GuestCommands arrived(int domid, VerbsContext verbs, ArrivedObjects objects, GrantMapper mapper,
                                 GrantBudget grants, Map<Integer, ArrivingDevices.Mapped> mappings) {
        GuestCommands commands = new GuestCommands(domid, verbs, mapper, grants);
        objects.pds().forEach(commands.pds::put);
        objects.cqs().forEach(commands.cqs::put);
        objects.qps().forEach(commands.qps::put);
        BackendVerbs device = (BackendVerbs) verbs;
        for (MemoryRegion region : objects.regions().values()) {
            ArrivingDevices.Mapped m = mappings.remove(device.grantsOf(region).refs()[0]);
            commands.mrs.put(region.lkey(), new Registered(region, m.mapping(), m.pages()));
        }
        return commands;
    }

    VerbsContext context() {
        return verbs;
    }

    long badRequests() {
        return badRequests;
    }

    /** Requests that made the engine throw something other than a verbs error (a gap in its argument checks). */
    long unexpected() {
        return unexpected;
    }

    /** The completion queues, for draining into the event ring. */
    Int2ObjectHashMap<CompletionQueue> cqs() {
        return cqs;
    }

    /**
     * Executes request {@code r} (a private copy) and fills response {@code out} at {@code at}: the status is 0 or
     * minus the errno.
     */
    void execute(ByteBuffer r, ByteBuffer out, int at) {
        int op = r.get(REQ_OP) & 0xFF;
        out.put(at + RSP_OP, (byte) op);
        out.putInt(at + RSP_ID, r.getInt(REQ_ID));
        int status;
        try {
            status = run(op, r, out, at);
        } catch (VerbsException e) {
            status = -e.errno();
        } catch (RuntimeException e) {
            // Arguments the engine's own checks did not expect: refused like any bad request, never fatal.
            status = -VerbsErrno.EINVAL;
            unexpected++;
        }
        if (status == -VerbsErrno.EINVAL || status == -38) {
            badRequests++;
        }
        out.putInt(at + RSP_STATUS, status);
    }

    private int run(int op, ByteBuffer r, ByteBuffer out, int at) throws VerbsException {
        switch (op) {
            case OP_ALLOC_PD -> {
                ProtectionDomain pd = verbs.allocPd();
                pds.put(pd.handle(), pd);
                out.putInt(at + RSP_RESULT0, pd.handle());
            }
            case OP_DEALLOC_PD -> {
                int h = r.getInt(REQ_ARG0);
                verbs.deallocPd(pd(h));
                pds.remove(h);
            }
            case OP_CREATE_CQ -> {
                CompletionQueue cq = verbs.createCq(r.getInt(REQ_ARG0));
                // The engine's handle: a migration keeps it, so the guest's handle stays valid wherever it goes.
                int h = ((BackendVerbs) verbs).handleOf(cq);
                cqs.put(h, cq);
                out.putInt(at + RSP_RESULT0, h);
            }
            case OP_DESTROY_CQ -> {
                int h = r.getInt(REQ_ARG0);
                verbs.destroyCq(cq(h));
                cqs.remove(h);
            }
            case OP_CREATE_QP -> {
                init.pd(pd(r.getInt(REQ_ARG0))).sendCq(cq(r.getInt(REQ_ARG1))).recvCq(cq(r.getInt(REQ_ARG2)))
                        .maxSendWr(r.getInt(REQ_ARG3)).maxRecvWr(r.getInt(REQ_ARG4)).maxSge(r.getInt(REQ_ARG5))
                        .signalAll((r.get(REQ_FLAGS) & FLAG_SIGNAL_ALL) != 0);
                if (init.maxSge() < 1 || init.maxSge() > MAX_SGE) {
                    throw new VerbsException(VerbsErrno.EINVAL, "max_sge is 1.." + MAX_SGE + " through the ring");
                }
                QueuePair qp = verbs.createQp(init);
                qps.put(qp.address().qpn(), qp);
                out.putInt(at + RSP_RESULT0, qp.address().qpn());
            }
            case OP_MODIFY_QP -> {
                QueuePair qp = qp(r.getInt(REQ_ARG0));
                modify.clear();
                int state = r.getInt(REQ_ARG1);
                if (state != -1) {
                    modify.state(state(state));
                }
                modify.pkey(r.getInt(REQ_ARG2)).retryCount(r.getInt(REQ_ARG3)).rnrRetry(r.getInt(REQ_ARG4));
                if ((r.get(REQ_FLAGS) & FLAG_REMOTE) != 0) {
                    modify.remote(address(r.getShort(MODIFY_REMOTE_NODE) & 0xFFFF,
                            r.getShort(MODIFY_REMOTE_DOMID) & 0xFFFF, r.getInt(MODIFY_REMOTE_QPN)));
                }
                verbs.modifyQp(qp, modify);
            }
            case OP_DESTROY_QP -> {
                int qpn = r.getInt(REQ_ARG0);
                verbs.destroyQp(qp(qpn));
                qps.remove(qpn);
            }
            case OP_REG_MR -> register(r, out, at);
            case OP_DEREG_MR -> {
                int lkey = r.getInt(REQ_ARG0);
                Registered reg = mrs.get(lkey);
                if (reg == null) {
                    throw unknown("memory region lkey", lkey);
                }
                verbs.deregMr(reg.region());
                mrs.remove(lkey);
                unmap(reg);
            }
            case OP_POST_SEND -> {
                QueuePair qp = qp(r.getInt(POST_QPN));
                Opcode opcode = Opcode.ofCode(r.get(POST_OPCODE) & 0xFF);
                if (opcode == null) {
                    throw new VerbsException(VerbsErrno.EINVAL, "unknown send opcode " + (r.get(POST_OPCODE) & 0xFF));
                }
                send.clear().wrId(r.getLong(POST_WR_ID)).opcode(opcode).sendFlags(r.get(POST_SEND_FLAGS) & 0xFF)
                        .remoteAddress(r.getLong(POST_REMOTE_ADDRESS)).rkey(r.getInt(POST_RKEY))
                        .immData(r.getInt(POST_IMM));
                sgl(r, send.sgl());
                qp.postSend(send);
            }
            case OP_POST_RECV -> {
                QueuePair qp = qp(r.getInt(POST_QPN));
                recv.clear().wrId(r.getLong(POST_WR_ID));
                sgl(r, recv.sgl());
                qp.postRecv(recv);
            }
            case OP_LISTEN -> verbs.listen(r.getLong(CM_ID));
            case OP_STOP_LISTEN -> verbs.stopListening(r.getLong(CM_ID));
            case OP_CONNECT -> {
                QueuePair qp = qp(r.getInt(CM_QPN));
                long id = verbs.connect(qp, r.getShort(CM_NODE) & 0xFFFF, r.getLong(CM_ID), r.getInt(CM_PKEY),
                        data(r));
                out.putLong(at + RSP_RESULT64, id);
            }
            case OP_ACCEPT -> verbs.accept(r.getLong(CM_ID), qp(r.getInt(CM_QPN)), data(r));
            case OP_REJECT -> verbs.reject(r.getLong(CM_ID), new String(data(r), StandardCharsets.UTF_8));
            case OP_DISCONNECT -> verbs.disconnect(qp(r.getInt(CM_QPN)));
            default -> {
                return -38; // ENOSYS: an opcode this version does not know
            }
        }
        return 0;
    }

    private void register(ByteBuffer r, ByteBuffer out, int at) throws VerbsException {
        ProtectionDomain pd = pd(r.getInt(MR_PD));
        int access = r.getInt(MR_ACCESS);
        long address = r.getLong(MR_ADDRESS);
        int offset = r.getInt(MR_PAGE_OFFSET);
        long length = r.getLong(MR_LENGTH);
        int pages = r.getInt(MR_PAGES);
        boolean indirect = (r.get(REQ_FLAGS) & FLAG_INDIRECT) != 0;
        int maxPages = indirect ? MR_REFS_INLINE * REFS_PER_INDIRECT_PAGE : MR_REFS_INLINE;
        // Exactly the pages the range needs: each page mapped is dom0 maptrack space, charged to the domain.
        if (!AccessFlags.isValid(access) || offset < 0 || offset >= Hypervisor.PAGE_SIZE || length < 1
                || length > (long) maxPages * Hypervisor.PAGE_SIZE
                || pages != (offset + length + Hypervisor.PAGE_SIZE - 1) / Hypervisor.PAGE_SIZE) {
            throw new VerbsException(VerbsErrno.EINVAL, "bad registration: access " + access + ", offset " + offset
                    + ", length " + length + ", " + pages + " pages" + (indirect ? " (indirect)" : "")
                    + "; the pages must be exactly those the range covers, at most " + maxPages);
        }
        grants.reserveRegistration(domid, pages);
        GrantMapping mapping = null;
        try {
            int[] refs = indirect ? indirectRefs(r, pages) : inlineRefs(r, pages);
            boolean writable = (access & (AccessFlags.LOCAL_WRITE | AccessFlags.REMOTE_WRITE)) != 0;
            try {
                mapping = mapper.mapDomainGrantRefs(domid, refs, writable);
            } catch (XenException e) {
                throw new VerbsException(VerbsErrno.EPERM, "dom " + domid + " registered pages it did not grant: "
                        + e.getMessage());
            }
            ByteBuffer memory = mapping.buffer().slice(offset, (int) length);
            MemoryRegion region = ((BackendVerbs) verbs).regMr(pd, memory, address, access,
                    new RegionGrants(offset, refs));
            mrs.put(region.lkey(), new Registered(region, mapping, pages));
            out.putInt(at + RSP_RESULT0, region.lkey());
            out.putInt(at + RSP_RESULT1, region.rkey());
        } catch (VerbsException | RuntimeException e) {
            if (mapping != null) {
                unmap(mapping);
            }
            grants.releaseRegistration(domid, pages);
            throw e instanceof VerbsException v ? v : new VerbsException(VerbsErrno.EINVAL, e.getMessage());
        }
    }

    private void unmap(Registered registered) {
        unmap(registered.mapping());
        grants.releaseRegistration(domid, registered.pages());
    }

    private static int[] inlineRefs(ByteBuffer r, int pages) {
        int[] refs = new int[pages];
        for (int i = 0; i < pages; i++) {
            refs[i] = r.getInt(MR_REFS + 4 * i);
        }
        return refs;
    }

    /** Maps the indirect pages read-only just long enough to copy their refs out. */
    private int[] indirectRefs(ByteBuffer r, int pages) throws VerbsException {
        int indirectPages = (pages + REFS_PER_INDIRECT_PAGE - 1) / REFS_PER_INDIRECT_PAGE;
        int[] pageRefs = inlineRefs(r, indirectPages);
        int[] refs = new int[pages];
        grants.reserveNode(domid, indirectPages);
        try (GrantMapping list = mapper.mapDomainGrantRefs(domid, pageRefs, false)) {
            ByteBuffer b = list.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < pages; i++) {
                refs[i] = b.getInt(4 * i);
            }
        } catch (XenException e) {
            throw new VerbsException(VerbsErrno.EPERM, "dom " + domid + " named indirect pages it did not grant: "
                    + e.getMessage());
        } finally {
            grants.releaseNode(indirectPages);
        }
        return refs;
    }

    private static void sgl(ByteBuffer r, ScatterGatherList sgl) throws VerbsException {
        int n = r.get(POST_NUM_SGE) & 0xFF;
        if (n > MAX_SGE) {
            throw new VerbsException(VerbsErrno.EINVAL, n + " scatter/gather entries, at most " + MAX_SGE);
        }
        for (int i = 0; i < n; i++) {
            int e = POST_SGE + i * SGE_LENGTH;
            int length = r.getInt(e + 8);
            if (length < 0) {
                throw new VerbsException(VerbsErrno.EINVAL, "scatter/gather length over 2 GiB");
            }
            sgl.add(r.getLong(e), length, r.getInt(e + 12));
        }
    }

    private static byte[] data(ByteBuffer r) throws VerbsException {
        int n = r.get(CM_DATA_LENGTH) & 0xFF;
        if (n > MAX_PRIVATE_DATA) {
            throw new VerbsException(VerbsErrno.EINVAL, n + " bytes of private data, at most " + MAX_PRIVATE_DATA);
        }
        byte[] b = new byte[n];
        r.get(CM_DATA, b);
        return b;
    }

    private static QpState state(int value) throws VerbsException {
        for (QpState s : QpState.values()) {
            if (s.value() == value) {
                return s;
            }
        }
        throw new VerbsException(VerbsErrno.EINVAL, "no queue pair state " + value);
    }

    private static QpAddress address(int node, int domid, int qpn) throws VerbsException {
        try {
            return new QpAddress(node, domid, qpn);
        } catch (IllegalArgumentException e) {
            throw new VerbsException(VerbsErrno.EINVAL, e.getMessage());
        }
    }

    private ProtectionDomain pd(int h) throws VerbsException {
        ProtectionDomain pd = pds.get(h);
        if (pd == null) {
            throw unknown("protection domain", h);
        }
        return pd;
    }

    private CompletionQueue cq(int h) throws VerbsException {
        CompletionQueue cq = cqs.get(h);
        if (cq == null) {
            throw unknown("completion queue", h);
        }
        return cq;
    }

    private QueuePair qp(int qpn) throws VerbsException {
        QueuePair qp = qps.get(qpn);
        if (qp == null) {
            throw unknown("queue pair", qpn);
        }
        return qp;
    }

    private VerbsException unknown(String what, int handle) {
        return new VerbsException(VerbsErrno.EINVAL, "dom " + domid + " has no " + what + " " + handle);
    }

    /**
     * Unmaps every registration. Call only after the engine closed the domain: it no longer touches the memory.
     */
    void releaseMappings() {
        mrs.values().forEach(this::unmap);
        mrs.clear();
        pds.clear();
        cqs.clear();
        qps.clear();
    }

    private static void unmap(GrantMapping mapping) {
        try {
            mapping.close();
        } catch (XenException e) {
            // the grant stays pinned; nothing more this side can do
        }
    }
}
