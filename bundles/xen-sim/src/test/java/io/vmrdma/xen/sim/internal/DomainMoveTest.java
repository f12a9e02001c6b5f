package io.vmrdma.xen.sim.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantMapping;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.SharedPages;
import io.vmrdma.api.xen.SuspendHandler;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.xen.sim.guest.GuestControl;
import io.vmrdma.xen.sim.guest.SimAbi;
import io.vmrdma.xen.sim.guest.SimGuest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest moved between two simulated hosts by the toolstack ({@link DomainMove}), its kernel in this JVM following
 * the suspend through {@link GuestControl}: memory and grants arrive as they were, the buffers the guest had keep
 * working over the new host's memory, its handles reach the new host, and a move that fails leaves it running where
 * it was.
 */
class DomainMoveTest {

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @TempDir
    Path state;

    SimHypervisor a;
    SimHypervisor c;
    SimGuest guest;
    int domid;
    final List<String> calls = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        a = SimHypervisor.start(state.resolve("a"));
        c = SimHypervisor.start(state.resolve("c"));
        domid = a.create("mover", 4 << 20);
        guest = SimGuest.attach(a.domainDirectory(domid));
        guest.onSuspend(new SuspendHandler() {
            @Override
            public void suspend() {
                calls.add("suspend");
            }

            @Override
            public void resume(boolean moved) {
                calls.add(moved ? "resume moved" : "resume here");
            }
        });
    }

    @AfterEach
    void tearDown() {
        guest.close();
        a.close();
        c.close();
    }

    @Test
    void theGuestMovesThereAndBackWithItsMemoryGrantsAndHandles() throws Exception {
        GuestControl.start(guest, true, () -> {
        });
        GrantSharer sharer = guest.openGrantSharer();
        EventChannel evtchn = guest.openEventChannel();
        SharedPages pages = sharer.sharePages(0, 3, true);
        byte[] written = new byte[3 * 4096];
        new Random(24).nextBytes(written);
        pages.buffer().duplicate().put(written);
        int[] refs = {pages.ref(0), pages.ref(1), pages.ref(2)};
        evtchn.bindUnboundPort(0);

        move(a, c);

        assertThat(calls).containsExactly("suspend", "resume moved");
        assertThat(guest.domainDirectory()).isEqualTo(c.domainDirectory(domid));
        assertThat(a.list()).extracting(i -> i.domid()).doesNotContain(domid);
        assertThat(c.list()).extracting(i -> i.name()).contains("mover");
        assertThat(bytes(pages.buffer())).as("the guest's own buffer, now over the new host's memory")
                .isEqualTo(written);
        try (GrantMapper dom0 = c.dom0().openGrantMapper();
                GrantMapping m = dom0.mapDomainGrantRefs(domid, refs, true)) {
            assertThat(bytes(m.buffer())).as("the new host's dom0 maps the same refs").isEqualTo(written);
            m.buffer().put(100, (byte) 77);
            assertThat(pages.buffer().get(100)).as("what dom0 there writes, the guest reads").isEqualTo((byte) 77);
        }
        // The handles reach the new host: a fresh share is not one of the reclaimed pages, an event goes round.
        SharedPages fresh = sharer.sharePages(0, 1, true);
        assertThat(fresh.ref(0)).isNotIn(refs[0], refs[1], refs[2]);
        roundTrip(c, evtchn);
        fresh.close();
        pages.close();
        assertThat(c.liveDomain(domid).gntalloc.granted()).as("the reclaimed share is the sharer's to end").isZero();

        SharedPages again = sharer.sharePages(0, 2, true);
        again.buffer().put(0, (byte) 5);
        move(c, a);
        assertThat(calls).containsExactly("suspend", "resume moved", "suspend", "resume moved");
        assertThat(guest.domainDirectory()).isEqualTo(a.domainDirectory(domid));
        assertThat(again.buffer().get(0)).isEqualTo((byte) 5);
        roundTrip(a, evtchn);
        again.close();
        sharer.close();
        evtchn.close();
    }

    @Test
    void aMoveTheDestinationRefusesLeavesTheGuestRunningWhereItWas() throws Exception {
        GuestControl.start(guest, true, () -> {
        });
        GrantSharer sharer = guest.openGrantSharer();
        SharedPages pages = sharer.sharePages(0, 1, true);
        pages.buffer().put(9, (byte) 3);
        int taken = c.create("other", 1 << 20);
        assertThat(taken).isEqualTo(domid);

        assertThatThrownBy(() -> DomainMove.suspend(a, domid, c, 5000))
                .isInstanceOfSatisfying(XenException.class, e -> assertThat(e.errno()).isEqualTo(XenErrno.EEXIST));

        awaitCalls(2);
        assertThat(calls).containsExactly("suspend", "resume here");
        assertThat(guest.domainDirectory()).isEqualTo(a.domainDirectory(domid));
        assertThat(pages.buffer().get(9)).isEqualTo((byte) 3);
        try (XenStore xs = a.dom0().openXenStore()) {
            assertThatThrownBy(() -> xs.read(XenStore.NO_TRANSACTION, "/local/domain/" + domid + "/control/shutdown"))
                    .as("the request is gone").isInstanceOf(XenException.class);
        }
        // And it can move once the way is clear.
        c.destroy(taken);
        move(a, c);
        assertThat(pages.buffer().get(9)).isEqualTo((byte) 3);
        pages.close();
        sharer.close();
    }

    @Test
    void aGuestThatDoesNotSuspendIsNotMoved() throws Exception {
        // No kernel watches control/shutdown here.
        assertThatThrownBy(() -> DomainMove.suspend(a, domid, c, 200))
                .isInstanceOfSatisfying(XenException.class, e -> assertThat(e.errno()).isEqualTo(110));
        assertThat(c.list()).extracting(i -> i.name()).doesNotContain("mover");
        assertThat(a.list()).extracting(i -> i.domid()).contains(domid);
        assertThatThrownBy(guest::suspend).as("a suspend nobody asked for")
                .isInstanceOfSatisfying(XenException.class, e -> assertThat(e.errno()).isEqualTo(XenErrno.EINVAL));
    }

    @Test
    void aGuestProcessMovesAndPowersOffWhenTheDestinationAsks() throws Exception {
        int process = a.create("process", 1 << 20);
        long pid = a.start(process, GuestProcessTest.guestCommand());
        Path console = a.domainDirectory(process).resolve(SimAbi.FILE_CONSOLE);
        long deadline = System.nanoTime() + 60 * SECOND;
        while (!Files.readString(console).contains("up") && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }

        DomainMove move = DomainMove.suspend(a, process, c, 30_000);
        move.copyMemory();
        move.resume();

        ProcessHandle guest = ProcessHandle.of(pid).orElseThrow();
        assertThat(guest.isAlive()).as("the guest process runs on").isTrue();
        assertThat(c.list()).filteredOn(d -> d.domid() == process).singleElement()
                .satisfies(d -> assertThat(d.running()).isTrue());
        assertThat(a.list()).extracting(d -> d.domid()).doesNotContain(process);
        // The destination's toolstack reaches it through the XenStore it reconnected to there.
        c.destroy(process);
        assertThat(guest.isAlive()).isFalse();
        assertThat(c.counters().get(SimCounters.Counter.GUESTS_TERMINATED)).as("powered off, not killed").isZero();
    }

    private void move(SimHypervisor from, SimHypervisor to) throws Exception {
        int before = calls.size();
        DomainMove move = DomainMove.suspend(from, domid, to, 5000);
        move.copyMemory();
        move.resume();
        awaitCalls(before + 2);
    }

    private void awaitCalls(int n) throws InterruptedException {
        long deadline = System.nanoTime() + 10 * SECOND;
        while (calls.size() < n && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
    }

    /** A port bound unbound for dom0 on {@code host}, dom0 binds it and the two exchange one event each way. */
    private void roundTrip(SimHypervisor host, EventChannel evtchn) throws Exception {
        int port = evtchn.bindUnboundPort(0);
        try (EventChannel dom0 = host.dom0().openEventChannel()) {
            int local = dom0.bindInterdomain(domid, port);
            assertThat(dom0.waitPending(SECOND)).isEqualTo(local);
            dom0.unmask(local);
            evtchn.notify(port);
            assertThat(dom0.waitPending(SECOND)).isEqualTo(local);
            dom0.notify(local);
            assertThat(evtchn.waitPending(SECOND)).isEqualTo(port);
            evtchn.unmask(port);
        }
        evtchn.unbind(port);
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.capacity()];
        b.duplicate().clear().get(out);
        return out;
    }
}
