package io.vmrdma.xen.sim.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Path;

import io.vmrdma.api.xen.GrantCopyBatch;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantMapping;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.GrantStatus;
import io.vmrdma.api.xen.SharedPages;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.xen.sim.guest.SimAbi;
import io.vmrdma.xen.sim.guest.SimGuest;
import io.vmrdma.xen.sim.internal.SimCounters.Counter;
import io.vmrdma.xen.sim.internal.abi.GrantTableView;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Grant tables against Xen's documented behaviour, with the guest attached in this JVM (thread-backed mode). */
class GrantTableTest {

    @TempDir
    Path state;

    SimHypervisor hv;
    SimGuest guest;
    GrantSharer sharer;
    GrantMapper dom0;

    @BeforeEach
    void setUp() throws Exception {
        hv = SimHypervisor.start(SimSettings.defaults(state).withGntallocLimit(64).withGrantFrames(1, 1));
        int domid = hv.create("g1", 1 << 20);
        guest = SimGuest.attach(hv.domainDirectory(domid));
        sharer = guest.openGrantSharer();
        dom0 = hv.dom0().openGrantMapper();
    }

    @AfterEach
    void tearDown() throws Exception {
        dom0.close();
        sharer.close();
        guest.close();
        hv.close();
    }

    @Test
    void aMapAliasesTheGuestPagesAndSetsTheInUseBits() throws Exception {
        SharedPages pages = sharer.sharePages(0, 2, true);
        assertThat(pages.ref(0)).isGreaterThanOrEqualTo(SimAbi.GNTTAB_NR_RESERVED_ENTRIES);
        pages.buffer().put(5000, (byte) 42);
        try (GrantMapping m =
                dom0.mapDomainGrantRefs(guest.selfDomid(), new int[] {pages.ref(0), pages.ref(1)}, true)) {
            assertThat(m.buffer().capacity()).isEqualTo(2 * 4096);
            assertThat(m.buffer().get(5000)).isEqualTo((byte) 42);
            m.buffer().put(7, (byte) 9);
            assertThat(pages.buffer().get(7)).isEqualTo((byte) 9);
            int flags = GrantTableView.flags(table().word(pages.ref(0)));
            assertThat(flags & (SimAbi.GTF_READING | SimAbi.GTF_WRITING))
                    .isEqualTo(SimAbi.GTF_READING | SimAbi.GTF_WRITING);
            assertThat(table().revoke(pages.ref(0))).as("revoke while mapped").isFalse();
        }
        assertThat(GrantTableView.flags(table().word(pages.ref(0))))
                .isEqualTo(SimAbi.GTF_PERMIT_ACCESS);
        assertThat(table().revoke(pages.ref(0))).isTrue();
    }

    @Test
    void readOnlyMappingsClearOnlyWhenTheLastPinGoes() throws Exception {
        SharedPages pages = sharer.sharePages(0, 1, true);
        int ref = pages.ref(0);
        GrantMapping a = dom0.mapDomainGrantRefs(guest.selfDomid(), new int[] {ref}, false);
        GrantMapping b = dom0.mapDomainGrantRefs(guest.selfDomid(), new int[] {ref}, true);
        assertThat(a.buffer().isReadOnly()).isTrue();
        b.close();
        assertThat(GrantTableView.flags(table().word(ref)))
                .isEqualTo(SimAbi.GTF_PERMIT_ACCESS | SimAbi.GTF_READING);
        a.close();
        assertThat(GrantTableView.flags(table().word(ref))).isEqualTo(SimAbi.GTF_PERMIT_ACCESS);
    }

    @Test
    void badMapsFailWithEinvalAndMapNothing() throws Exception {
        SharedPages ro = sharer.sharePages(0, 1, false);
        SharedPages other = sharer.sharePages(7, 1, true);
        SharedPages good = sharer.sharePages(0, 1, true);
        int d = guest.selfDomid();
        assertEinval(() -> dom0.mapDomainGrantRefs(d, new int[] {ro.ref(0)}, true));
        assertEinval(() -> dom0.mapDomainGrantRefs(d, new int[] {other.ref(0)}, false));
        assertEinval(() -> dom0.mapDomainGrantRefs(d, new int[] {512}, false));
        assertEinval(() -> dom0.mapDomainGrantRefs(d, new int[] {-1}, false));
        assertEinval(() -> dom0.mapDomainGrantRefs(d, new int[] {100}, false));
        assertEinval(() -> dom0.mapDomainGrantRefs(d, new int[0], false));
        assertEinval(() -> dom0.mapDomainGrantRefs(99, new int[] {good.ref(0)}, false));
        assertEinval(() -> dom0.mapDomainGrantRefs(d, new int[] {good.ref(0), 100}, false));
        assertThat(GrantTableView.flags(table().word(good.ref(0)))).as("all or nothing")
                .isEqualTo(SimAbi.GTF_PERMIT_ACCESS);
        assertThat(hv.counters().get(Counter.GRANT_REFUSED)).isEqualTo(7);
    }

    @Test
    void aGuestRewritingAMappedEntryCannotMoveTheMapping() throws Exception {
        SharedPages pages = sharer.sharePages(0, 2, true);
        pages.buffer().put(0, (byte) 1);
        int ref = pages.ref(0);
        GrantMapping m = dom0.mapDomainGrantRefs(guest.selfDomid(), new int[] {ref}, true);
        // A hostile guest stores a new frame and clears the flags without the CAS protocol.
        ByteBuffer raw = hv.liveDomain(guest.selfDomid()).grantTableFile.whole().buffer(0, 4096);
        raw.putInt(ref * 8 + 4, 200);
        raw.putShort(ref * 8, (short) 0);
        assertThat(m.buffer().get(0)).isEqualTo((byte) 1);
        m.close();
        assertThat(hv.counters().get(Counter.GRANT_CHANGED_WHILE_MAPPED)).isEqualTo(1);
    }

    @Test
    void scatteredFramesAppearSideBySide() throws Exception {
        SharedPages a = sharer.sharePages(0, 1, true);
        SharedPages gap = sharer.sharePages(0, 1, true);
        SharedPages b = sharer.sharePages(0, 1, true);
        a.buffer().put(0, (byte) 'a');
        b.buffer().put(0, (byte) 'b');
        try (GrantMapping m = dom0.mapDomainGrantRefs(guest.selfDomid(), new int[] {b.ref(0), a.ref(0)}, true)) {
            assertThat(m.buffer().get(0)).isEqualTo((byte) 'b');
            assertThat(m.buffer().get(4096)).isEqualTo((byte) 'a');
            m.buffer().put(4097, (byte) 'x');
            assertThat(a.buffer().get(1)).isEqualTo((byte) 'x');
        }
        gap.close();
    }

    @Test
    void grantCopyReportsEachSegmentsStatus() throws Exception {
        SharedPages rw = sharer.sharePages(0, 1, true);
        SharedPages ro = sharer.sharePages(0, 1, false);
        ByteBuffer local = ByteBuffer.allocateDirect(64);
        for (int i = 0; i < 16; i++) {
            local.put(i, (byte) (i + 1));
        }
        GrantCopyBatch batch = new GrantCopyBatch(4);
        int d = guest.selfDomid();
        int toRw = batch.add(d, rw.ref(0), 100, local, 0, 16, true);
        int toRo = batch.add(d, ro.ref(0), 0, local, 0, 16, true);
        int badRef = batch.add(d, 9999, 0, local, 0, 16, false);
        int deadDomain = batch.add(77, rw.ref(0), 0, local, 0, 16, false);
        dom0.grantCopy(batch);
        assertThat(batch.status(toRw)).isEqualTo(GrantStatus.OKAY);
        assertThat(batch.status(toRo)).isEqualTo(GrantStatus.GENERAL_ERROR);
        assertThat(batch.status(badRef)).isEqualTo(GrantStatus.BAD_GNTREF);
        assertThat(batch.status(deadDomain)).isEqualTo(GrantStatus.BAD_DOMAIN);
        for (int i = 0; i < 16; i++) {
            assertThat(rw.buffer().get(100 + i)).isEqualTo((byte) (i + 1));
        }
        batch.clear();
        batch.add(d, rw.ref(0), 4090, local, 0, 16, true);
        assertThatThrownBy(() -> dom0.grantCopy(batch)).isInstanceOf(XenException.class)
                .extracting(e -> ((XenException) e).errno()).isEqualTo(XenErrno.EINVAL);
    }

    @Test
    void gntallocLimitAndRevokeDeferral() throws Exception {
        SharedPages big = sharer.sharePages(0, 64, true);
        assertThatThrownBy(() -> sharer.sharePages(0, 1, true))
                .extracting(e -> ((XenException) e).errno()).isEqualTo(XenErrno.ENOSPC);
        GrantMapping m = dom0.mapDomainGrantRefs(guest.selfDomid(), new int[] {big.ref(3)}, true);
        big.close();
        // The mapped grant stays granted (deferred), the rest are free again.
        assertThat(GrantTableView.flags(table().word(big.ref(3))) & SimAbi.GTF_PERMIT_ACCESS).isNotZero();
        m.close();
        SharedPages again = sharer.sharePages(0, 64, true);
        assertThat(again.pageCount()).isEqualTo(64);
    }

    @Test
    void aDestroyedGuestsMemoryStaysWhileDom0MapsIt() throws Exception {
        SharedPages pages = sharer.sharePages(0, 1, true);
        pages.buffer().put(0, (byte) 77);
        GrantMapping m = dom0.mapDomainGrantRefs(guest.selfDomid(), new int[] {pages.ref(0)}, true);
        hv.destroy(guest.selfDomid());
        assertThat(hv.list()).extracting(DomainControlInfo::domid).containsExactly(0);
        assertThat(m.buffer().get(0)).isEqualTo((byte) 77);
        assertEinval(() -> dom0.mapDomainGrantRefs(guest.selfDomid(), new int[] {pages.ref(0)}, true));
        m.close();
        assertThat(hv.domainDirectory(guest.selfDomid())).doesNotExist();
    }

    private GrantTableView table() {
        return hv.liveDomain(guest.selfDomid()) != null ? hv.liveDomain(guest.selfDomid()).grants : null;
    }

    private interface Call {
        void run() throws Exception;
    }

    private static void assertEinval(Call call) {
        assertThatThrownBy(call::run).isInstanceOf(XenException.class)
                .extracting(e -> ((XenException) e).errno()).isEqualTo(XenErrno.EINVAL);
    }

    /** Shorthand for the toolstack's list entries. */
    private interface DomainControlInfo {
        static int domid(io.vmrdma.api.xen.DomainControl.DomainInfo info) {
            return info.domid();
        }
    }
}
