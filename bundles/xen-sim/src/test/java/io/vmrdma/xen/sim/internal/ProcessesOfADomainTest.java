package io.vmrdma.xen.sim.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantMapping;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.SharedPages;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.xen.sim.guest.SimAbi;
import io.vmrdma.xen.sim.guest.SimGuest;
import io.vmrdma.xen.sim.internal.abi.Gntalloc;
import io.vmrdma.xen.sim.internal.abi.HypercallChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many processes in one domain: each attach is what one process of the guest holds (its own memory mapping and its
 * own hypercall connections), so several attaches in this JVM share through the simulator's one allocator of the
 * domain exactly as several processes do; the processes the toolstack knows nothing of end with the domain.
 */
class ProcessesOfADomainTest {

    private static final long MINUTE = TimeUnit.MINUTES.toNanos(1);

    @TempDir
    Path state;

    SimHypervisor hv;
    int domid;

    @BeforeEach
    void setUp() throws Exception {
        hv = SimHypervisor.start(SimSettings.defaults(state).withGntallocLimit(64));
        domid = hv.create("g1", 1 << 20);
    }

    @AfterEach
    void tearDown() {
        hv.close();
    }

    @Test
    void fourProcessesShareAtOnceAndNeverGetTheSamePageOrRef() throws Exception {
        int processes = 4;
        List<SimGuest> guests = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(processes);
        try {
            List<Future<List<SharedPages>>> kept = new ArrayList<>();
            for (int p = 0; p < processes; p++) {
                SimGuest guest = SimGuest.attach(hv.domainDirectory(domid));
                guests.add(guest);
                long seed = 0x5EED0000L + p;
                byte mark = (byte) (p + 1);
                kept.add(pool.submit(() -> churn(guest.openGrantSharer(), new Random(seed), mark)));
            }
            Set<Integer> refs = new HashSet<>();
            int pages = 0;
            for (int p = 0; p < processes; p++) {
                for (SharedPages s : kept.get(p).get(1, TimeUnit.MINUTES)) {
                    for (int i = 0; i < s.pageCount(); i++) {
                        assertThat(refs.add(s.ref(i))).as("ref %d handed out twice", s.ref(i)).isTrue();
                        pages++;
                    }
                    byte[] want = new byte[s.buffer().capacity()];
                    java.util.Arrays.fill(want, (byte) (p + 1));
                    byte[] got = new byte[want.length];
                    s.buffer().duplicate().get(got);
                    assertThat(got).as("process %d's pages were written by it alone", p).isEqualTo(want);
                }
            }
            assertThat(gntalloc().granted()).isEqualTo(pages);
        } finally {
            pool.shutdownNow();
            guests.forEach(SimGuest::close);
        }
    }

    /** Shares and unshares seeded sizes, filling each share with its mark; returns the shares it keeps. */
    private static List<SharedPages> churn(GrantSharer sharer, Random random, byte mark) throws XenException {
        List<SharedPages> live = new ArrayList<>();
        for (int round = 0; round < 300; round++) {
            if (live.size() < 4 && random.nextBoolean()) {
                SharedPages s = sharer.sharePages(0, 1 + random.nextInt(3), true);
                ByteBuffer b = s.buffer();
                for (int i = 0; i < b.capacity(); i++) {
                    b.put(i, mark);
                }
                live.add(s);
            } else if (!live.isEmpty()) {
                live.remove(random.nextInt(live.size())).close();
            }
        }
        return live;
    }

    @Test
    void gntallocsLimitIsTheDomainsAllProcessesTogether() throws Exception {
        try (SimGuest a = SimGuest.attach(hv.domainDirectory(domid));
                SimGuest b = SimGuest.attach(hv.domainDirectory(domid))) {
            GrantSharer sa = a.openGrantSharer();
            GrantSharer sb = b.openGrantSharer();
            sa.sharePages(0, 40, true);
            assertThatThrownBy(() -> sb.sharePages(0, 30, true)).isInstanceOf(XenException.class)
                    .extracting(e -> ((XenException) e).errno()).isEqualTo(XenErrno.ENOSPC);
            sb.sharePages(0, 24, true);
            sa.close();
            awaitGranted(24); // the closed handle's pages came back

            sb.sharePages(0, 40, true);
            sb.close();
        }
    }

    @Test
    void aDeadProcesssGrantsComeBackWhenDom0UnmapsThem() throws Exception {
        SimGuest dying = SimGuest.attach(hv.domainDirectory(domid));
        GrantSharer sharer = dying.openGrantSharer();
        SharedPages pages = sharer.sharePages(0, 2, true);
        GrantMapper dom0 = hv.dom0().openGrantMapper();
        GrantMapping mapped = dom0.mapDomainGrantRefs(domid, new int[] {pages.ref(1)}, true);
        // The process dies: its connections close, the simulator ends what it shared.
        sharer.close();
        dying.close();
        awaitGranted(0);
        assertThat(gntalloc().deferred()).as("the page dom0 still maps is kept aside").isEqualTo(1);
        mapped.buffer().put(0, (byte) 7);
        mapped.close();
        assertThat(gntalloc().deferred()).isZero();
        try (SimGuest next = SimGuest.attach(hv.domainDirectory(domid))) {
            SharedPages again = next.openGrantSharer().sharePages(0, 64, true);
            assertThat(again.buffer().get(4096)).as("a reused page is zeroed").isZero();
        }
        dom0.close();
    }

    @Test
    void aClientOfTheOldAbiIsRefused() throws Exception {
        java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(
                java.net.StandardProtocolFamily.UNIX);
        ch.connect(java.net.UnixDomainSocketAddress.of(hv.domainDirectory(domid).resolve(SimAbi.SOCKET_HYPERCALL)));
        ByteBuffer hello = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);
        hello.putInt(SimAbi.OP_HELLO).putInt(1).putInt(0).putInt(4).putInt(2).flip();
        ch.write(hello);
        ByteBuffer reply = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);
        while (reply.hasRemaining() && ch.read(reply) >= 0) {
            // the header and the result
        }
        ch.close();
        assertThat(reply.getInt(16)).as("version 2 gets -EPROTO").isEqualTo(-71);
        assertThat(HypercallChannel.connect(hv.domainDirectory(domid).resolve(SimAbi.SOCKET_HYPERCALL), "t")
                .domid()).isEqualTo(domid);
    }

    @Test
    void destroyingADomainEndsEveryProcessInIt() throws Exception {
        long init = hv.start(domid, List.of("sh", "-c", "sleep 300 & sleep 300 & wait"));
        List<ProcessHandle> family = awaitProcesses(hv.domainDirectory(domid), 3);
        assertThat(family).extracting(ProcessHandle::pid).contains(init);
        hv.destroy(domid);
        assertThat(family).allMatch(p -> !p.isAlive());
    }

    @Test
    void programsLeftWhenTheFirstProcessDiesEndWithTheDomain() throws Exception {
        int other = hv.create("g2", 1 << 20);
        hv.start(other, List.of("sh", "-c", "sleep 300 & read line"));
        List<ProcessHandle> family = awaitProcesses(hv.domainDirectory(other), 2);
        ProcessHandle init = family.stream().filter(p -> p.info().command().orElse("").endsWith("sh"))
                .findFirst().orElseThrow();
        init.destroyForcibly();
        long deadline = System.nanoTime() + MINUTE;
        while (hv.liveDomain(other) != null || family.stream().anyMatch(ProcessHandle::isAlive)) {
            assertThat(System.nanoTime()).as("the orphan still runs").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    private static List<ProcessHandle> awaitProcesses(Path dir, int count) throws InterruptedException {
        long deadline = System.nanoTime() + MINUTE;
        List<ProcessHandle> found;
        while ((found = DomainProcesses.of(dir)).size() < count) {
            assertThat(System.nanoTime()).as("processes of %s: %s", dir, found).isLessThan(deadline);
            Thread.sleep(10);
        }
        return found;
    }

    private void awaitGranted(int pages) throws InterruptedException {
        long deadline = System.nanoTime() + MINUTE;
        while (gntalloc().granted() != pages) {
            assertThat(System.nanoTime()).as("granted %d", gntalloc().granted()).isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    private Gntalloc gntalloc() {
        return hv.liveDomain(domid).gntalloc;
    }
}
