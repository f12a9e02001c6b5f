package io.vmrdma.engine.internal.verbs;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.api.MemoryRegionInfo;
import io.vmrdma.api.QueuePairInfo;
import io.vmrdma.engine.internal.status.Counters;

/**
 * Copies of the engine's queue pairs and memory regions for operators. The objects they copy are the data agent's
 * alone (plain fields, array lists that it changes), so these run on that thread: callers go through the agent's
 * {@code runAndWait}, and get records no one changes afterwards.
 */
public final class VerbsSnapshots {

    private VerbsSnapshots() {
    }

    /** Every queue pair of every open domain, by domid then queue pair number. Data agent's thread only. */
    public static List<QueuePairInfo> queuePairs(VerbsEngine engine) {
        List<QueuePairInfo> out = new ArrayList<>();
        for (Domain d : engine.domains()) {
            for (Qp qp : ((DomainVerbs) d).qps()) {
                Counters c = qp.counters();
                out.add(new QueuePairInfo(d.domid(), qp.owner().devid(), qp.address().qpn(), qp.state(), qp.remote(),
                        qp.pkey(),
                        qp.sq.capacity(), qp.sq.size(), qp.rq.capacity(), qp.rq.size(),
                        c.get(Counter.SEND_OPS) + c.get(Counter.RDMA_WRITE_OPS) + c.get(Counter.RDMA_READ_OPS),
                        c.get(Counter.SEND_BYTES) + c.get(Counter.RDMA_WRITE_BYTES) + c.get(Counter.RDMA_READ_BYTES),
                        c.get(Counter.RECV_OPS), c.get(Counter.RECV_BYTES)));
            }
        }
        out.sort(Comparator.comparingInt(QueuePairInfo::domid).thenComparingInt(QueuePairInfo::qpn));
        return out;
    }

    /** Every memory region of every open domain, by domid then lkey. Data agent's thread only. */
    public static List<MemoryRegionInfo> memoryRegions(VerbsEngine engine) {
        List<MemoryRegionInfo> out = new ArrayList<>();
        for (Domain d : engine.domains()) {
            DomainVerbs domain = (DomainVerbs) d;
            for (Region r : domain.regions()) {
                out.add(new MemoryRegionInfo(d.domid(), r.lkey(), r.rkey(), r.address(), r.length(), r.access(),
                        inFlight(domain, r.lkey())));
            }
        }
        out.sort(Comparator.comparingInt(MemoryRegionInfo::domid)
                .thenComparing(MemoryRegionInfo::lkey, Integer::compareUnsigned));
        return out;
    }

    /** Queued work requests of the domain that name {@code lkey} in a scatter/gather entry. */
    private static int inFlight(DomainVerbs domain, int lkey) {
        int count = 0;
        for (Qp qp : domain.qps()) {
            for (int i = 0; i < qp.sq.size(); i++) {
                count += names(qp.sq.peek(i).sgl, lkey) ? 1 : 0;
            }
            for (int i = 0; i < qp.rq.size(); i++) {
                count += names(qp.rq.peek(i).sgl, lkey) ? 1 : 0;
            }
        }
        return count;
    }

    private static boolean names(io.vmrdma.api.verbs.ScatterGatherList sgl, int lkey) {
        for (int i = 0; i < sgl.count(); i++) {
            if (sgl.lkey(i) == lkey) {
                return true;
            }
        }
        return false;
    }
}
