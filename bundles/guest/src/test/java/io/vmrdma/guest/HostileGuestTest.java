package io.vmrdma.guest;

import static io.vmrdma.guest.TwoGuestsTest.ALL;
import static io.vmrdma.guest.TwoGuestsTest.BYTES;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.vmrdma.api.guest.GuestAbi;
import io.vmrdma.api.guest.SharedRing;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.xen.sim.guest.SimGuest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile guest against dom0 through the real entry points: requests built by hand in its shared ring, XenStore
 * writes and event-channel notifications through the simulator (issue 16, items 1, 3, 4, 6 and 7). Each attack gets
 * an error, a refusal or a disabled backend, while two other guests' RDMA WRITEs in the same test arrive
 * byte-identical.
 */
class HostileGuestTest {

    @TempDir
    Path state;
    EngineFixture host;
    TwoGuestsTest.Side a;
    TwoGuestsTest.Side b;
    final long seed = new Random().nextLong();

    @BeforeEach
    void setUp() throws Exception {
        host = new EngineFixture(state);
        a = new TwoGuestsTest.Side(host.guest("alpha"), GuestDevice.Options.defaults());
        b = new TwoGuestsTest.Side(host.guest("beta"), GuestDevice.Options.defaults());
        TwoGuestsTest.connect(a, b, 5);
    }

    @AfterEach
    void tearDown() throws Exception {
        host.close();
    }

    /** Item 1: a region whose addresses wrap past 2^64 is refused; one just above 2^63 cannot be reached from below. */
    @Test
    void regionAddressesAreUnsignedAndNeverWrap() throws Exception {
        SimGuest mallory = host.guest("mallory");
        GuestDevice evil = GuestDevice.open(mallory, 0, GuestDevice.Options.defaults());
        TwoGuestsTest.Side s1 = new TwoGuestsTest.Side(evil, null);
        TwoGuestsTest.Side s2 = new TwoGuestsTest.Side(evil, null);
        TwoGuestsTest.connect(s1, s2, 9);
        GuestBuffer target = evil.allocate(8192);
        fill(target, 3);
        byte[] before = bytes(target);

        assertThat(evil.rawRequest(registration(s2.pd.handle(), -4096L, 8192, target))).isEqualTo(-VerbsErrno.EINVAL);
        assertThat(evil.rawRequest(registration(s2.pd.handle(), Long.MIN_VALUE, 8192, target))).isZero();
        int rkey = evil.rawResults()[1];
        SendWorkRequest below = new SendWorkRequest().wrId(1).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                .remoteAddress(Long.MIN_VALUE - 4096).rkey(rkey);
        below.sgl().add(s1.mr.address(), 64, s1.mr.lkey());
        evil.postSend(s1.qp, below);
        assertThat(s1.completion().status()).isEqualTo(WcStatus.REM_ACCESS_ERR);
        assertThat(bytes(target)).isEqualTo(before);
        assertThat(host.backends.unexpected(mallory.selfDomid())).isZero();
        writeAndCheck(1);
        evil.close();
    }

    /**
     * Item 4: a registration is charged the pages it maps, checked before anything is mapped: extra pages are
     * refused, the domain's limit in pages gives EDQUOT, the node's cap on grant mappings ENOMEM; and refused pages
     * were never mapped (the guest can take its grants back at once, which Xen refuses for a mapped grant).
     */
    @Test
    void registrationsAreChargedByPagesBeforeMapping() throws Exception {
        SimGuest mallory = host.guest("mallory");
        long withoutMallory = host.backends.grantPagesMapped();
        GuestDevice evil = GuestDevice.open(mallory, 0, GuestDevice.Options.defaults());
        GuestDevice.Pd pd = evil.allocPd();
        long mappedBefore = host.backends.grantPagesMapped();
        assertThat(mappedBefore).as("mallory's rings").isGreaterThan(withoutMallory);

        // Three bytes on two pages: 8192 bytes of maptrack for 3 bytes of quota, refused.
        GuestBuffer one = evil.allocate(3);
        GuestBuffer other = evil.allocate(4096);
        byte[] entry = registration(pd.handle(), 0x1000, 3, one);
        ByteBuffer.wrap(entry).order(ByteOrder.LITTLE_ENDIAN).putInt(GuestAbi.MR_PAGES, 2)
                .putInt(GuestAbi.MR_REFS + 4, other.pages().ref(0));
        assertThat(evil.rawRequest(entry)).isEqualTo(-VerbsErrno.EINVAL);
        assertThat(host.backends.grantPagesMapped()).isEqualTo(mappedBefore);

        // A domain limit of 16 pages: two 8-page buffers fit, the third is refused and was never mapped.
        host.engine.limits(64, 256, 256, 4096, 16 * 4096, 65536, 16384, 16, 1L << 30, 64L << 20);
        GuestBuffer first = evil.allocate(8 * 4096);
        GuestBuffer second = evil.allocate(8 * 4096);
        GuestBuffer third = evil.allocate(8 * 4096);
        evil.register(pd, first, ALL);
        evil.register(pd, second, ALL);
        assertThatThrownBy(() -> evil.register(pd, third, ALL)).isInstanceOfSatisfying(VerbsException.class,
                e -> assertThat(e.errno()).isEqualTo(VerbsErrno.EDQUOT));
        evil.free(third);
        assertThat(host.backends.grantPagesMapped()).isEqualTo(mappedBefore + 16);

        // The node's cap: the victim's next registration, within its own limit, finds dom0's mappings spent.
        host.engine.limits(64, 256, 256, 4096, 128L << 20, 65536, 16384, 16, 1L << 30, 64L << 20);
        host.engine.maxGrantPages(host.backends.grantPagesMapped() + 4);
        GuestBuffer victimBuffer = a.dev.allocate(8 * 4096);
        assertThatThrownBy(() -> a.dev.register(a.pd, victimBuffer, ALL)).isInstanceOfSatisfying(
                VerbsException.class, e -> assertThat(e.errno()).isEqualTo(VerbsErrno.ENOMEM));
        a.dev.free(victimBuffer);
        host.engine.maxGrantPages(262_144);
        writeAndCheck(2);
        evil.close();
        host.await(() -> host.backends.grantPagesMapped() == withoutMallory, "mallory's rings and pages unmapped");
    }

    /** Item 3, through the ring: queue pairs at the largest sizes until the domain's queue memory is spent. */
    @Test
    void queuePairsAreChargedUntilTheDomainsQueueMemoryIsSpent() throws Exception {
        GuestDevice evil = GuestDevice.open(host.guest("mallory"), 0, GuestDevice.Options.defaults());
        GuestDevice.Pd pd = evil.allocPd();
        GuestDevice.Cq cq = evil.createCq(16);
        int made = 0;
        VerbsException refused = null;
        while (refused == null && made < 100) {
            try {
                evil.createQp(pd, cq, cq, 16384, 16384, 1, false);
                made++;
            } catch (VerbsException e) {
                refused = e;
            }
        }
        assertThat(refused).isNotNull();
        assertThat(refused.errno()).isEqualTo(VerbsErrno.EDQUOT);
        assertThat(made).as("64 MiB of 12.75 MiB queue pairs").isEqualTo(5);
        host.assertHealthy();
        writeAndCheck(3);
        evil.close();
    }

    /** Most checked writes a victim makes while waiting for the flood to reach 100 writes and notifications. */
    private static final int FLOOD_ROUNDS_CAP = 100_000;

    /**
     * Item 6: a guest that writes its XenStore and notifies its event channel without pause gets one rescan of
     * its own devices per duty cycle, and the others' transfers go on byte-identical meanwhile.
     */
    @Test
    void aGuestFloodingXenStoreAndItsEventChannelCostsOnlyItsShare() throws Exception {
        SimGuest mallory = host.guest("mallory");
        GuestDevice evil = GuestDevice.open(mallory, 0, GuestDevice.Options.defaults());
        XenStore store = mallory.openXenStore();
        String key = GuestAbi.frontendPath(mallory.selfDomid(), 0) + "/flood";
        AtomicBoolean flooding = new AtomicBoolean(true);
        AtomicLong writes = new AtomicLong();
        AtomicLong notifies = new AtomicLong();
        Thread writer = new Thread(() -> {
            try {
                while (flooding.get()) {
                    store.write(XenStore.NO_TRANSACTION, key, Long.toString(writes.incrementAndGet()).getBytes(UTF_8));
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "xenstore-flood");
        Thread notifier = new Thread(() -> {
            try {
                while (flooding.get()) {
                    evil.notifyWithoutRequest();
                    notifies.incrementAndGet();
                }
            } catch (VerbsException e) {
                throw new IllegalStateException(e);
            }
        }, "notify-flood");
        long eventsBefore = host.backends.watchEvents();
        writer.start();
        notifier.start();
        try {
            // At least 20 checked writes, and as many more as it takes the flood to get going: how many of its writes
            // fit beside 20 transfers depends on the machine, not on the engine (capped, so a stalled flood fails
            // below instead of hanging here).
            for (int i = 0; i < 20 || (i < FLOOD_ROUNDS_CAP && (writes.get() <= 100 || notifies.get() <= 100)); i++) {
                writeAndCheck(100 + i);
            }
        } finally {
            flooding.set(false);
            writer.join();
            notifier.join();
        }
        assertThat(writes.get()).as("XenStore writes").isGreaterThan(100);
        assertThat(notifies.get()).as("notifications").isGreaterThan(100);
        host.await(() -> host.backends.watchEvents() > eventsBefore, "the flood's watch events read");
        assertThat(host.backends.connected(mallory.selfDomid())).as("the flooder itself is still served").isTrue();
        evil.allocPd();
        host.assertHealthy();
        store.close();
        evil.close();
    }

    /**
     * Item 7: once a backend is disabled for breaking the ring protocol, no state the frontend writes (Initialising,
     * 0, 7, 8, garbage) gets it a fresh backend; only removing the device does. A state no frontend goes through
     * disables a healthy backend too.
     */
    @Test
    void aDisabledBackendStaysDisabledWhateverStateTheFrontendWrites() throws Exception {
        SimGuest mallory = host.guest("mallory");
        int domid = mallory.selfDomid();
        GuestDevice evil = GuestDevice.open(mallory, 0, GuestDevice.Options.defaults());
        SharedRing ring = evil.commandRing();
        ring.set(SharedRing.REQ_PROD, ring.get(SharedRing.RSP_PROD) + 5 * ring.size());
        evil.notifyWithoutRequest();
        host.await(() -> host.backends.disabled(domid), "mallory's backend disabled");
        XenStore store = mallory.openXenStore();
        String stateKey = GuestAbi.frontendPath(domid, 0) + "/" + GuestAbi.KEY_STATE;
        for (String written : new String[] {"1", "0", "7", "8", "garbage", "1"}) {
            long seen = host.backends.watchEvents();
            store.write(XenStore.NO_TRANSACTION, stateKey, written.getBytes(UTF_8));
            host.await(() -> host.backends.watchEvents() > seen, "the state write " + written + " read");
            assertThat(host.backends.disabled(domid)).as("after state %s", written).isTrue();
            assertThat(host.backends.connected(domid)).as("after state %s", written).isFalse();
            assertThat(host.engine.domain(domid)).as("after state %s", written).isEmpty();
        }
        writeAndCheck(4);
        evil.close();
        host.await(() -> !host.backends.disabled(domid), "the removed device forgotten");

        // Removed and made again: a fresh device is served; then a state no frontend uses disables it.
        GuestDevice again = GuestDevice.open(mallory, 0, GuestDevice.Options.defaults());
        again.allocPd();
        store.write(XenStore.NO_TRANSACTION, stateKey, "7".getBytes(UTF_8));
        host.await(() -> host.backends.disabled(domid), "state 7 disables the backend");
        writeAndCheck(5);
        store.close();
        again.close();
    }

    /** Item 5: buffer addresses start at a random page per device, so a region's address is not known in advance. */
    @Test
    void bufferAddressesStartAtARandomPagePerDevice() {
        for (GuestBuffer buffer : new GuestBuffer[] {a.buf, b.buf}) {
            assertThat(buffer.address()).isBetween(1L << 32, (1L << 46) - 1);
            assertThat(buffer.address() % 4096).isZero();
        }
        assertThat(a.buf.address()).isNotEqualTo(b.buf.address());
    }

    // ---- helpers ----

    /** A REG_MR request built by hand: {@code length} bytes of {@code buffer}'s pages at a chosen address. */
    private static byte[] registration(int pd, long address, long length, GuestBuffer buffer) {
        byte[] entry = new byte[GuestAbi.ENTRY_LENGTH];
        ByteBuffer r = ByteBuffer.wrap(entry).order(ByteOrder.LITTLE_ENDIAN);
        int pages = (int) ((length + 4095) / 4096);
        r.put(GuestAbi.REQ_OP, (byte) GuestAbi.OP_REG_MR).putInt(GuestAbi.MR_PD, pd).putInt(GuestAbi.MR_ACCESS, ALL)
                .putLong(GuestAbi.MR_ADDRESS, address).putLong(GuestAbi.MR_LENGTH, length)
                .putInt(GuestAbi.MR_PAGES, pages);
        for (int i = 0; i < pages; i++) {
            r.putInt(GuestAbi.MR_REFS + 4 * i, buffer.pages().ref(i));
        }
        return entry;
    }

    /** An RDMA WRITE of fresh seeded bytes from alpha to beta, checked byte for byte. */
    private void writeAndCheck(long salt) throws VerbsException {
        fill(a.buf, salt);
        SendWorkRequest w = new SendWorkRequest().wrId(salt).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                .remoteAddress(b.mr.address()).rkey(b.mr.rkey());
        w.sgl().add(a.mr.address(), BYTES, a.mr.lkey());
        a.dev.postSend(a.qp, w);
        WorkCompletion wc = a.completion();
        assertThat(wc.status()).as("seed %d write %d", seed, salt).isEqualTo(WcStatus.SUCCESS);
        assertThat(bytes(b.buf)).as("seed %d write %d", seed, salt).isEqualTo(bytes(a.buf));
    }

    private void fill(GuestBuffer buffer, long salt) {
        byte[] bytes = new byte[buffer.length()];
        new Random(seed ^ salt).nextBytes(bytes);
        buffer.buffer().put(0, bytes);
    }

    private static byte[] bytes(GuestBuffer buffer) {
        byte[] out = new byte[buffer.length()];
        buffer.buffer().get(0, out);
        return out;
    }
}
