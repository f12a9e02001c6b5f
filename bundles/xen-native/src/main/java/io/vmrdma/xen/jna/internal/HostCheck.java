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
 * our own port), one line per check, exit status 1 if any check failed.
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
        System.out.println("domain " + self + ", /dev/xen " + (new java.io.File("/dev/xen").isDirectory() ? "present" : "MISSING"));
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
                xs.rm(0, dir);
                return "read back '" + value + "', initial watch fire " + initial + ", commit " + committed;
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
            try (GrantSharer gs = hv.openGrantSharer(); GrantMapper gm = hv.openGrantMapper();
                 SharedPages pages = gs.sharePages(self, 2, true)) {
                pages.buffer().putLong(0, 0x1122334455667788L);
                int[] refs = {pages.ref(0), pages.ref(1)};
                String mapped;
                try (GrantMapping m = gm.mapDomainGrantRefs(self, refs, true)) {
                    mapped = m.buffer().getLong(0) == 0x1122334455667788L ? "map aliases the shared page"
                            : "map does NOT alias the shared page";
                }
                ByteBuffer local = ByteBuffer.allocateDirect(8);
                GrantCopyBatch batch = new GrantCopyBatch(1);
                batch.add(self, refs[0], 0, local, 0, 8, false);
                gm.grantCopy(batch);
                return "refs " + refs[0] + "," + refs[1] + "; " + mapped + "; copy status " + batch.status(0)
                        + (batch.status(0) == GrantStatus.OKAY && local.getLong(0) == pages.buffer().getLong(0)
                        ? " (bytes equal)" : " (bytes DIFFER)");
            }
        });
        step("gntalloc limit", () -> {
            try (GrantSharer gs = hv.openGrantSharer()) {
                int shared = 0;
                try {
                    for (; shared < 4096; shared++) {
                        gs.sharePages(self, 1, false);
                    }
                } catch (io.vmrdma.api.xen.XenException e) {
                    return "refused after " + shared + " pages with " + XenErrno.name(e.errno());
                }
                return "no limit met within 4096 pages";
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
                return "ports " + offered + "<->" + bound + "; early event on bind " + (early == bound)
                        + "; notify delivered " + (delivered == offered);
            }
        });
    }
}
