package io.vmrdma.xen.sim.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.xen.DomainControl.DomainInfo;
import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantMapping;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.xen.sim.guest.GuestMain;
import io.vmrdma.xen.sim.guest.SimAbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dom0 in this JVM, the guest a separate JVM started by the toolstack: grants, events and XenStore between them. */
class GuestProcessTest {

    private static final long MINUTE = TimeUnit.MINUTES.toNanos(1);

    @TempDir
    Path state;

    SimHypervisor hv;

    @BeforeEach
    void setUp() throws Exception {
        hv = SimHypervisor.start(SimSettings.defaults(state));
    }

    @AfterEach
    void tearDown() {
        hv.close();
    }

    @Test
    void aGuestProcessSharesPagesAndEventsWithDom0() throws Exception {
        long seed = new Random().nextLong();
        int rounds = Boolean.getBoolean("vmrdma.long") ? 100_000 : 5_000;
        int domid = hv.create("proc", 4 << 20);
        String home = "/local/domain/" + domid;
        XenStore xs = hv.dom0().openXenStore();
        xs.watch(home + "/data/state", "state");
        hv.start(domid, guestCommand(GuestProgram.class.getName(), Long.toString(seed), Integer.toString(rounds)));
        awaitValue(xs, home + "/data/state", "3", domid);

        String[] refText = text(xs.read(0, home + "/data/ring-ref")).split(",");
        int[] refs = new int[refText.length];
        for (int i = 0; i < refs.length; i++) {
            refs[i] = Integer.parseInt(refText[i]);
        }
        int remotePort = Integer.parseInt(text(xs.read(0, home + "/data/event-channel")));
        GrantMapper mapper = hv.dom0().openGrantMapper();
        EventChannel evtchn = hv.dom0().openEventChannel();
        GrantMapping ring = mapper.mapDomainGrantRefs(domid, refs, true);
        for (int i = 0; i < GuestProgram.PAGES * 4096; i++) {
            assertThat(ring.buffer().get(i)).as("seed %d byte %d", seed, i).isEqualTo(GuestProgram.pattern(seed, i));
        }
        for (int i = 0; i < 4096; i++) {
            ring.buffer().put(4096 + i, (byte) ~GuestProgram.pattern(seed, i));
        }
        int port = evtchn.bindInterdomain(domid, remotePort);
        assertThat(evtchn.waitPending(MINUTE)).isEqualTo(port);
        evtchn.unmask(port);
        xs.watch(home + "/data/result", "result");
        evtchn.notify(port);
        awaitValue(xs, home + "/data/result", "ok", domid);

        for (int i = 0; i < rounds; i++) {
            assertThat(evtchn.waitPending(MINUTE)).as("round %d (seed %d)", i, seed).isEqualTo(port);
            evtchn.unmask(port);
            evtchn.notify(port);
        }
        DomainInfo info = hv.list().get(1);
        assertThat(info.name()).isEqualTo("proc");
        awaitGone(domid);
        // Xen keeps a dead domain's pages while a backend maps them.
        assertThat(ring.buffer().get(4096)).isEqualTo((byte) ~GuestProgram.pattern(seed, 0));
        ring.close();
        assertThat(hv.domainDirectory(domid)).doesNotExist();
        evtchn.close();
        mapper.close();
        xs.close();
    }

    @Test
    void stoppingTheHypervisorPowersItsGuestsOff() throws Exception {
        int domid = hv.create("idle", 1 << 20);
        XenStore xs = hv.dom0().openXenStore();
        xs.watch("/local/domain/" + domid + "/control", "c");
        long pid = hv.start(domid, guestCommand());
        Path console = hv.domainDirectory(domid).resolve(SimAbi.FILE_CONSOLE);
        long deadline = System.nanoTime() + MINUTE;
        while (!Files.readString(console).contains("up") && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        ProcessHandle guest = ProcessHandle.of(pid).orElseThrow();
        xs.close();
        hv.close();
        assertThat(guest.isAlive()).isFalse();
        assertThat(hv.counters().get(SimCounters.Counter.GUESTS_TERMINATED)).as("powered off, not killed").isZero();
        assertThat(hv.runDirectory()).doesNotExist();
    }

    /** The command that runs {@code GuestMain} with {@code args} in a JVM of its own, on this test's class path. */
    static List<String> guestCommand(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx64m");
        cmd.add("-cp");
        cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        cmd.add(GuestMain.class.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    private void awaitValue(XenStore xs, String path, String value, int domid) throws Exception {
        long deadline = System.nanoTime() + MINUTE;
        while (System.nanoTime() < deadline) {
            try {
                if (text(xs.read(0, path)).equals(value)) {
                    return;
                }
            } catch (XenException notYet) {
                // re-read on the next event
            }
            assertThat(hv.liveDomain(domid)).as("guest died; console:\n%s", console(domid)).isNotNull();
            xs.readWatch(TimeUnit.MILLISECONDS.toNanos(200));
        }
        throw new AssertionError("timed out waiting for " + path + " = " + value + "; console:\n" + console(domid));
    }

    private void awaitGone(int domid) throws InterruptedException {
        long deadline = System.nanoTime() + MINUTE;
        while (hv.liveDomain(domid) != null) {
            assertThat(System.nanoTime()).as("guest still running").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    private String console(int domid) {
        try {
            return Files.readString(hv.domainDirectory(domid).resolve(SimAbi.FILE_CONSOLE));
        } catch (Exception e) {
            return "(no console: " + e + ")";
        }
    }

    private static String text(byte[] b) {
        return new String(b, UTF_8);
    }
}
