package io.vmrdma.xen.jna.internal;

import static java.nio.charset.StandardCharsets.US_ASCII;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import com.sun.jna.Native;
import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantCopyBatch;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantMapping;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.GrantStatus;
import io.vmrdma.api.xen.SharedPages;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenStore;

/**
 * What only a real Xen host can confirm, run by an operator there (bin/vmrdma-xen-check): every binding call
 * against this domain itself (grants shared to and mapped from our own domid, an event channel looped back to
 * our own port), one line per check, exit status 1 if any check failed. A check fails on an exception and on any
 * observation that is not what Xen promises (bytes that differ, an event not delivered): it never reports a wrong
 * observation as "ok".
 */
public final class HostCheck {

    private int failures;

    private HostCheck() {
    }

    public static void main(String[] args) {
        HostCheck check = new HostCheck();
        check.runAll();
        System.out.println(check.failures == 0 ? "all checks passed" : check.failures + " checks FAILED");
        System.exit(check.failures == 0 ? 0 : 1);
    }

    private interface Step {
        String run() throws Exception;
    }

    /** An observation that contradicts what the binding promises. */
    static final class CheckFailed extends Exception {
        CheckFailed(String message) {
            super(message);
        }

        @Override
        public String toString() {
            return getMessage();
        }
    }

    static void require(boolean holds, String what) throws CheckFailed {
        if (!holds) {
            throw new CheckFailed(what);
        }
    }

    /** Compares n bytes one by one, so the buffers' byte orders cannot matter. */
    static void requireSameBytes(ByteBuffer expected, ByteBuffer actual, int n, String what) throws CheckFailed {
        for (int i = 0; i < n; i++) {
            if (expected.get(i) != actual.get(i)) {
                throw new CheckFailed(what + ": byte " + i + " is " + actual.get(i) + ", expected " + expected.get(i));
            }
        }
    }

    /** Fills n bytes with a pattern that differs in every byte of a page, so a shifted or partial copy shows. */
    static void fillPattern(ByteBuffer buffer, int n, int seed) {
        for (int i = 0; i < n; i++) {
            buffer.put(i, (byte) (seed + i * 31 + (i >>> 8)));
        }
    }

    private void step(String name, Step step) {
        try {
            System.out.printf("ok    %-40s %s%n", name, step.run());
        } catch (Throwable e) {
            failures++;
            System.out.printf("FAIL  %-40s %s%n", name, e);
        }
    }

    private void runAll() {
        NativeHypervisor hv = new NativeHypervisor(NativeHypervisor.discoverSelfDomid());
        int self = hv.selfDomid();
        System.out.println("domain " + self + ", /dev/xen "
                + (new java.io.File("/dev/xen").isDirectory() ? "present" : "MISSING"));
        step("xenstore read/write/watch/transaction", () -> {
            try (XenStore xs = hv.openXenStore()) {
                String dir = "/vmrdma-check-" + ProcessHandle.current().pid();
                xs.watch(dir, "check");
                boolean initial = xs.readWatch(TimeUnit.SECONDS.toNanos(5)) != null;
                xs.write(0, dir + "/k", "v".getBytes(US_ASCII));
                String value = new String(xs.read(0, dir + "/k"), US_ASCII);
                int tx = xs.transactionStart();
                xs.write(tx, dir + "/t", new byte[0]);
                boolean committed = xs.transactionEnd(tx, false);
                boolean inTransaction = xs.read(0, dir + "/t") != null;
                xs.rm(0, dir);
                require(value.equals("v"), "read back '" + value + "' after writing 'v'");
                require(initial, "a new watch did not fire once at once");
                require(committed && inTransaction, "the transaction's write is not visible after commit");
                return "read back '" + value + "', initial watch fire, transaction committed";
            }
        });
        step("gnttab open + set_max_grants", () -> {
            try (GrantMapper gm = hv.openGrantMapper()) {
                gm.setMaxGrants(128);
                return "succeeded; errno left " + XenErrno.name(Native.getLastError()) + " (ENOTTY expected on pv-ops)";
            }
        });
        step("grant_copy probe (0 segments)", () -> {
            try (GrantMapper gm = hv.openGrantMapper()) {
                gm.grantCopy(new GrantCopyBatch(1));
                return "supported";
            }
        });
        step("gntshr share + gnttab map + copy", () -> {
            try (GrantSharer gs = hv.openGrantSharer();
                    GrantMapper gm = hv.openGrantMapper();
                    SharedPages pages = gs.sharePages(self, 2, true)) {
                int bytes = 2 * 4096;
                fillPattern(pages.buffer(), bytes, 17);
                int[] refs = {pages.ref(0), pages.ref(1)};
                try (GrantMapping m = gm.mapDomainGrantRefs(self, refs, true)) {
                    requireSameBytes(pages.buffer(), m.buffer(), bytes, "the mapping does not alias the shared pages");
                    m.buffer().put(4096 + 5, (byte) 0x5A);
                    require(pages.buffer().get(4096 + 5) == 0x5A,
                            "a write through the mapping is not seen by the sharer");
                }
                ByteBuffer local = ByteBuffer.allocateDirect(4096);
                GrantCopyBatch batch = new GrantCopyBatch(1);
                batch.add(self, refs[1], 0, local, 0, 4096, false);
                gm.grantCopy(batch);
                require(batch.status(0) == GrantStatus.OKAY, "grant copy status " + batch.status(0));
                requireSameBytes(pages.buffer().duplicate().position(4096).slice(), local, 4096,
                        "grant copy from the second page");
                return "refs " + refs[0] + "," + refs[1] + "; the mapping aliases both pages both ways; "
                        + "grant copy of a page byte-identical";
            }
        });
        step("gntalloc limit", () -> {
            try (GrantSharer gs = hv.openGrantSharer()) {
                int shared = 0;
                try {
                    for (; shared < 65536; shared++) {
                        gs.sharePages(self, 1, false);
                    }
                } catch (io.vmrdma.api.xen.XenException e) {
                    return "refused after " + shared + " pages with " + XenErrno.name(e.errno());
                }
                throw new CheckFailed("gntalloc shared 65536 pages without refusing: no limit protects dom0");
            }
        });
        step("evtchn loopback bind/notify/pending/unmask", () -> {
            try (EventChannel a = hv.openEventChannel(); EventChannel b = hv.openEventChannel()) {
                int offered = a.bindUnboundPort(self);
                int bound = b.bindInterdomain(self, offered);
                int early = b.waitPending(TimeUnit.SECONDS.toNanos(1));
                b.unmask(bound);
                b.notify(bound);
                int delivered = a.waitPending(TimeUnit.SECONDS.toNanos(1));
                a.unmask(offered);
                b.unbind(bound);
                a.unbind(offered);
                require(delivered == offered, "notify on port " + bound + " not delivered to port " + offered
                        + " within 1 s (got " + delivered + ")");
                return "ports " + offered + "<->" + bound + "; early event on bind " + (early == bound)
                        + "; notify delivered";
            }
        });
    }
}
