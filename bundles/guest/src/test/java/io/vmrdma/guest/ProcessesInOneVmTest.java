package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.guest.GuestAbi;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.xen.sim.guest.SimGuest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several processes in one VM, each with its own vmrdma device: two Java and two C programs run inside one domain
 * (the toolstack started a placeholder first process; the four inherit the domain's environment, as programs of a
 * VM share its kernel) and stream to another VM at once, that VM serving them with one device each from one
 * process.
 */
class ProcessesInOneVmTest {

    static final long WAIT = StreamServer.WAIT;
    static final int BYTES = StreamServer.BYTES;
    static final int SLOTS = StreamServer.SLOTS;
    static final int PROCESSES = 4;

    @TempDir
    Path state;
    EngineFixture host;
    SimGuest serverVm;
    int vm;
    final long seed = new Random().nextLong();
    final List<Process> inVm = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        host = new EngineFixture(state);
        serverVm = host.guest("server", 64 << 20);
        vm = host.hv.create("multi", 64 << 20);
        host.hv.start(vm, List.of("sleep", "600"));
    }

    @AfterEach
    void tearDown() throws Exception {
        inVm.forEach(Process::destroyForcibly);
        host.close();
    }

    /** Starts client {@code i} as a process of the VM: even ones Java, odd ones C, each streaming to a service. */
    private Process startClient(int i, long service, int rounds) throws Exception {
        List<String> args = List.of(Long.toString(service), Long.toString(seed + i), Integer.toString(rounds),
                Integer.toString(BYTES));
        List<String> command = new ArrayList<>();
        if (i % 2 == 0) {
            command.addAll(EngineFixture.javaGuest(PeerProgram.class.getName(), args.toArray(String[]::new)));
        } else {
            command.add(CGuestInteropGuests.nativeBinary("vmrdma_interop_peer").toString());
            command.add("stream");
            command.addAll(args);
        }
        Process p = CGuestInteropGuests.startIn(host, vm, state.resolve("client-" + i + ".log"), command);
        inVm.add(p);
        return p;
    }

    private List<StreamServer> startAll(long firstService, int rounds) throws Exception {
        List<StreamServer> servers = new ArrayList<>();
        for (int i = 0; i < PROCESSES; i++) {
            // One device of the server VM per client: several devices of one process, each its own context.
            servers.add(new StreamServer(GuestDevice.open(serverVm, GuestDevice.Options.defaults()),
                    firstService + i, seed + i));
            startClient(i, firstService + i, rounds);
        }
        for (StreamServer s : servers) {
            s.accept();
        }
        return servers;
    }

    private String output(int i) throws Exception {
        return Files.readString(state.resolve("client-" + i + ".log"));
    }

    @Test
    void fourProcessesOfOneVmStreamToAnotherVmAtOnceByteIdentical() throws Exception {
        // More rounds than posted receives: no client can finish before the server has taken its rounds.
        int rounds = 3 * SLOTS;
        List<StreamServer> servers = startAll(7600, rounds);
        host.await(() -> host.backends.connectedDevices(vm) == PROCESSES, "four devices of the VM connected");
        assertThat(host.backends.connectedDevices(serverVm.selfDomid()))
                .as("the server VM's one process holds four devices").isEqualTo(PROCESSES);
        for (long round = 1; round <= rounds; round++) {
            for (StreamServer s : servers) {
                assertThat(s.nextRound()).isEqualTo(round);
                s.assertPattern();
            }
        }
        for (int i = 0; i < PROCESSES; i++) {
            servers.get(i).event(CmEventType.DISCONNECTED);
            assertThat(inVm.get(i).waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(inVm.get(i).exitValue()).as("client %d:\n%s", i, output(i)).isZero();
            assertThat(output(i)).contains("peer: done");
        }
        host.await(() -> host.backends.connectedDevices(vm) == 0, "every device of the VM closed");
        assertThat(host.engine.domain(vm)).as("the VM's verbs went with its last device").isEmpty();
        host.assertHealthy();
    }

    @Test
    void oneProcessKilledMidTransferLeavesTheOtherThreeByteIdentical() throws Exception {
        List<StreamServer> servers = startAll(7700, -1);
        for (long round = 1; round <= 5; round++) {
            for (StreamServer s : servers) {
                assertThat(s.nextRound()).isEqualTo(round);
            }
        }
        int victim = 1; // a C process
        inVm.get(victim).destroyForcibly(); // SIGKILL: no close, no goodbye
        servers.get(victim).event(CmEventType.DISCONNECTED);
        host.await(() -> host.backends.connectedDevices(vm) == PROCESSES - 1, "the dead process's device closed");
        assertThat(host.backends.processesGone()).isEqualTo(1);
        for (int i = 0; i < PROCESSES; i++) {
            if (i == victim) {
                continue;
            }
            StreamServer s = servers.get(i);
            long last = 0;
            for (int k = 0; k < 10; k++) {
                long round = s.nextRound();
                assertThat(round).as("client %d goes on in order", i).isGreaterThan(last);
                last = round;
            }
            s.assertPattern();
        }
        // A domain destroyed with all its processes: every client ends, every server sees its peer go.
        host.hv.destroy(vm);
        for (int i = 0; i < PROCESSES; i++) {
            assertThat(inVm.get(i).waitFor(30, TimeUnit.SECONDS)).as("client %d ended with its VM", i).isTrue();
        }
        for (int i = 0; i < PROCESSES; i++) {
            if (i != victim) {
                awaitDisconnected(servers.get(i));
            }
        }
        host.await(() -> host.engine.domain(vm).isEmpty(), "the destroyed VM's verbs closed");
        host.assertHealthy();
    }

    /** Skips the completions still queued (rounds that arrived, then flushes) up to the connection's end. */
    private static void awaitDisconnected(StreamServer s) throws Exception {
        CmEvent e = new CmEvent();
        assertThat(s.dev.waitCmEvent(e, WAIT)).as("the peer's end").isTrue();
        assertThat(e.type()).isEqualTo(CmEventType.DISCONNECTED);
    }

    @Test
    void deviceNumbersAGuestMakesUpAreBoundedAndCounted() throws Exception {
        try (SimGuest guest = SimGuest.attach(host.hv.domainDirectory(vm))) {
            GuestDevice first = GuestDevice.open(guest, GuestDevice.Options.defaults());
            XenStore store = guest.openXenStore();
            String devices = GuestAbi.devicesPath(vm);
            long before = host.backends.ignoredDevices();
            // Names that are no device number, and 20 numbers beside device 0 where the backend looks at 17 (the
            // default maxDevices, 16, and one to refuse): the 5 and the last 4 are skipped and counted on every
            // rescan; none costs a backend (their state is past Connected).
            List<String> madeUp = new ArrayList<>(List.of("x", "-1", "256", "99999999999", "007a"));
            for (int n = 100; n < 120; n++) {
                madeUp.add(Integer.toString(n));
            }
            for (String name : madeUp) {
                store.write(0, devices + "/" + name + "/" + GuestAbi.KEY_STATE, "9".getBytes(StandardCharsets.UTF_8));
            }
            host.await(() -> host.backends.ignoredDevices() - before >= 9, "made-up device directories counted");
            assertThat(host.backends.connectedDevices(vm)).isEqualTo(1);
            first.deallocPd(first.allocPd()); // the real process's device goes on
            for (String name : madeUp) {
                store.rm(0, devices + "/" + name);
            }
            GuestDevice second = GuestDevice.open(guest, GuestDevice.Options.defaults());
            second.allocPd();
            assertThat(host.backends.connectedDevices(vm)).isEqualTo(2);
            second.close();
            first.close();
            store.close();
        }
        host.assertHealthy();
    }

    @Test
    void aProcessPastTheVmsDeviceLimitIsRefusedWithTheReasonAndTheOthersGoOn() throws Exception {
        host.engine.maxDevices(2);
        try (SimGuest guest = SimGuest.attach(host.hv.domainDirectory(vm))) {
            GuestDevice first = GuestDevice.open(guest, GuestDevice.Options.defaults());
            GuestDevice second = GuestDevice.open(guest, GuestDevice.Options.defaults());
            assertThatThrownBy(() -> GuestDevice.open(guest, GuestDevice.Options.defaults()))
                    .isInstanceOf(VerbsException.class).hasMessageContaining("limit of 2 devices (maxDevices)");
            first.deallocPd(first.allocPd());
            second.deallocPd(second.allocPd());
            // A closed device makes room for the next process.
            first.close();
            GuestDevice third = GuestDevice.open(guest, GuestDevice.Options.defaults());
            third.deallocPd(third.allocPd());
            assertThat(host.backends.connectedDevices(vm)).isEqualTo(2);
            third.close();
            second.close();
        }
        host.assertHealthy();
    }

    @Test
    void theVmsQuotaIsHitByItsProcessesTogether() throws Exception {
        int maxQps = 6;
        host.engine.limits(64, 256, maxQps, 4096, 128L << 20, 65536, 16384, 16, 1L << 30, 64L << 20);
        // Two processes of one VM: each attaches on its own, as separate programs do.
        try (SimGuest first = SimGuest.attach(host.hv.domainDirectory(vm));
                SimGuest second = SimGuest.attach(host.hv.domainDirectory(vm))) {
            GuestDevice a = GuestDevice.open(first, GuestDevice.Options.defaults());
            GuestDevice b = GuestDevice.open(second, GuestDevice.Options.defaults());
            List<GuestDevice.Qp> made = new ArrayList<>();
            GuestDevice.Pd pa = a.allocPd();
            GuestDevice.Cq ca = a.createCq(16);
            GuestDevice.Pd pb = b.allocPd();
            GuestDevice.Cq cb = b.createCq(16);
            for (int i = 0; i < 4; i++) {
                made.add(a.createQp(pa, ca, ca, 8, 8, 1, false));
            }
            made.add(b.createQp(pb, cb, cb, 8, 8, 1, false));
            made.add(b.createQp(pb, cb, cb, 8, 8, 1, false));
            try {
                b.createQp(pb, cb, cb, 8, 8, 1, false);
                throw new AssertionError("a seventh queue pair of the VM was allowed");
            } catch (VerbsException e) {
                assertThat(e.errno()).isEqualTo(VerbsErrno.EDQUOT);
            }
            // One process closing frees only its own: the other's objects stay and the quota has room again.
            a.close();
            host.await(() -> host.backends.connectedDevices(vm) == 1, "the first process's device closed");
            b.createQp(pb, cb, cb, 8, 8, 1, false);
            try {
                a.createQp(pa, ca, ca, 8, 8, 1, false);
                throw new AssertionError("a closed device still made a queue pair");
            } catch (VerbsException e) {
                assertThat(e.errno()).isNotZero();
            }
            b.close();
        }
        host.assertHealthy();
    }
}
