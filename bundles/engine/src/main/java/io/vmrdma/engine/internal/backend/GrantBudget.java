package io.vmrdma.engine.internal.backend;

import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import org.agrona.collections.Int2IntHashMap;

/**
 * Grant pages dom0 holds mapped for guests, checked before every map: a domain's registrations may map at most its
 * {@code maxRegisteredBytes} in whole pages, and all guests together at most the node's {@code maxGrantPages}
 * (on Xen, dom0's maptrack table is shared by every backend: one guest filling it would leave the others unable
 * to register anything). Ring pages count towards the node only. Data agent's thread only.
 */
final class GrantBudget {

    private final VerbsEngine engine;
    private final Int2IntHashMap registeredPages = new Int2IntHashMap(0);
    /** Written by the data agent only; volatile so the console and tests read a current value. */
    private volatile long mapped;

    GrantBudget(VerbsEngine engine) {
        this.engine = engine;
    }

    /**
     * Reserves {@code pages} of registration for {@code domid}.
     *
     * @throws VerbsException EDQUOT past the domain's limit, ENOMEM past the node's
     */
    void reserveRegistration(int domid, int pages) throws VerbsException {
        long limit = engine.maxRegisteredBytes() / Hypervisor.PAGE_SIZE;
        int held = registeredPages.get(domid);
        if (pages > limit - held) {
            throw new VerbsException(VerbsErrno.EDQUOT, "dom " + domid + " would have " + ((long) held + pages)
                    + " pages registered, the limit is " + limit + " (maxRegisteredBytes in whole pages)");
        }
        reserveNode(domid, pages);
        registeredPages.put(domid, held + pages);
    }

    void releaseRegistration(int domid, int pages) {
        int left = registeredPages.get(domid) - pages;
        if (left == 0) {
            registeredPages.remove(domid);
        } else {
            registeredPages.put(domid, left);
        }
        mapped -= pages;
    }

    /**
     * Reserves {@code pages} of the node's mappings (rings).
     *
     * @throws VerbsException ENOMEM past the node's limit
     */
    void reserveNode(int domid, int pages) throws VerbsException {
        long limit = engine.maxGrantPages();
        if (pages > limit - mapped) {
            throw new VerbsException(VerbsErrno.ENOMEM, "dom " + domid + ": dom0 holds " + mapped + " of its "
                    + limit + " grant mappings (maxGrantPages); " + pages + " more refused");
        }
        mapped += pages;
    }

    void releaseNode(int pages) {
        mapped -= pages;
    }

    /** Pages mapped for every guest together. */
    long mapped() {
        return mapped;
    }

    /** Pages registered by {@code domid}. */
    int registered(int domid) {
        return registeredPages.get(domid);
    }
}
