package io.vmrdma.xen.jna.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.api.xen.XenStore.WatchEvent;
import io.vmrdma.api.xen.XenStorePermission;
import io.vmrdma.api.xen.XenStorePermission.Access;
import io.vmrdma.xen.sim.guest.SimAbi;
import io.vmrdma.xen.sim.internal.SimCounters.Counter;
import io.vmrdma.xen.sim.internal.SimHypervisor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JNA XenStore binding over Debian's real libxenstore.so.4, against the simulator's xenstored: the checks of
 * the simulator's own XenStoredTest, through the C library. xs_open connects to the socket XENSTORED_PATH names
 * (surefire sets it to a path under target/); each connection points that path, a symbolic link, at the dom0 or
 * the guest socket of the simulator before opening, so both sides run through the real library.
 */
class NativeXenStoreTest {

    private static final int T0 = XenStore.NO_TRANSACTION;
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @TempDir
    Path state;

    SimHypervisor hv;
    int domid;
    XenStore dom0;
    XenStore domU;
    String home;

    @BeforeEach
    void setUp() throws Exception {
        hv = SimHypervisor.start(state);
        domid = hv.create("g1", 1 << 20);
        dom0 = connect(0);
        domU = connect(domid);
        home = "/local/domain/" + domid;
    }

    @AfterEach
    void tearDown() throws Exception {
        domU.close();
        dom0.close();
        hv.close();
    }

    /** Opens through libxenstore as {@code asDomid}, by pointing XENSTORED_PATH's link at that domain's socket. */
    private XenStore connect(int asDomid) throws Exception {
        String env = System.getenv("XENSTORED_PATH");
        assertThat(env).as("XENSTORED_PATH, set by surefire (bundles/xen-native/pom.xml)").isNotNull();
        Path link = Path.of(env);
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, hv.domainDirectory(asDomid).resolve(SimAbi.SOCKET_XENSTORE));
        XenStore xs = NativeXenStore.open();
        assertThat(xs).isInstanceOf(NativeXenStore.class);
        return xs;
    }

    @Test
    void theToolstackWroteTheGuestsHome() throws Exception {
        assertThat(text(domU.read(T0, "name"))).isEqualTo("g1");
        assertThat(text(dom0.read(T0, home + "/domid"))).isEqualTo(Integer.toString(domid));
        assertThat(dom0.directory(T0, home)).contains("name", "domid", "memory", "device", "control", "data");
        assertThat(dom0.getPermissions(T0, home)).containsExactly(new XenStorePermission(0, Access.NONE),
                new XenStorePermission(domid, Access.READ));
    }

    @Test
    void theHypervisorFindsItsOwnDomidInXenStore() throws Exception {
        connect(domid).close();
        assertThat(NativeHypervisor.discoverSelfDomid()).isEqualTo(domid);
    }

    @Test
    void readsWritesAndRemovals() throws Exception {
        dom0.write(T0, "/a/b/c", "v".getBytes(UTF_8));
        assertThat(dom0.read(T0, "/a/b")).isEmpty();
        assertThat(dom0.directory(T0, "/a")).containsExactly("b");
        assertThat(dom0.directory(T0, "/a/b/c")).isEmpty();
        byte[] binary = {0, 1, 2, (byte) 255};
        dom0.write(T0, "/a/bin", binary);
        assertThat(dom0.read(T0, "/a/bin")).isEqualTo(binary);
        dom0.mkdir(T0, "/a/b");
        assertThat(text(dom0.read(T0, "/a/b/c"))).isEqualTo("v");
        dom0.mkdir(T0, "/a/new/dir");
        assertThat(dom0.read(T0, "/a/new/dir")).isEmpty();
        dom0.rm(T0, "/a/b");
        assertErrno(() -> dom0.read(T0, "/a/b/c"), XenErrno.ENOENT);
        dom0.rm(T0, "/a/missing");
        assertErrno(() -> dom0.rm(T0, "/nowhere/missing"), XenErrno.ENOENT);
        assertErrno(() -> dom0.read(T0, "/a//b"), XenErrno.EINVAL);
        assertErrno(() -> dom0.read(T0, "/a/b/"), XenErrno.EINVAL);
        assertErrno(() -> dom0.read(T0, "/a/b c"), XenErrno.EINVAL);
    }

    @Test
    void aGuestGetsOnlyWhatPermissionsAllow() throws Exception {
        assertErrno(() -> domU.read(T0, "/local/domain/0/name"), XenErrno.EACCES);
        assertErrno(() -> domU.write(T0, "/local/domain/0/x", new byte[0]), XenErrno.EACCES);
        assertErrno(() -> domU.write(T0, "name", "evil".getBytes(UTF_8)), XenErrno.EACCES);
        domU.write(T0, "data/mine/x", "1".getBytes(UTF_8));
        assertThat(dom0.getPermissions(T0, home + "/data/mine/x").get(0))
                .isEqualTo(new XenStorePermission(domid, Access.NONE));
        dom0.write(T0, home + "/device/vif/0/state", "1".getBytes(UTF_8));
        assertThat(text(domU.read(T0, "device/vif/0/state"))).isEqualTo("1");
        dom0.write(T0, "/backend/x", "b".getBytes(UTF_8));
        dom0.setPermissions(T0, "/backend/x", List.of(new XenStorePermission(0, Access.NONE),
                new XenStorePermission(domid, Access.READ), new XenStorePermission(7, Access.BOTH),
                new XenStorePermission(8, Access.WRITE)));
        assertThat(dom0.getPermissions(T0, "/backend/x")).containsExactly(new XenStorePermission(0, Access.NONE),
                new XenStorePermission(domid, Access.READ), new XenStorePermission(7, Access.BOTH),
                new XenStorePermission(8, Access.WRITE));
        assertThat(text(domU.read(T0, "/backend/x"))).isEqualTo("b");
        assertErrno(() -> domU.write(T0, "/backend/x", new byte[0]), XenErrno.EACCES);
        assertErrno(() -> domU.setPermissions(T0, "data/mine/x",
                List.of(new XenStorePermission(0, Access.BOTH))), XenErrno.EPERM);
        assertThat(hv.counters().get(Counter.XS_ACCESS_DENIED)).isEqualTo(5);
    }

    @Test
    void watchesFireOnRegistrationThenOnChangesBelow() throws Exception {
        assertThat(domU.readWatch(0)).as("nothing before a watch").isNull();
        domU.watch("device", "tok");
        assertThat(domU.readWatch(SECOND)).isEqualTo(new WatchEvent("device", "tok"));
        dom0.write(T0, home + "/device/vif/0/state", "4".getBytes(UTF_8));
        assertThat(drain(domU)).contains(new WatchEvent("device/vif/0/state", "tok"));
        dom0.rm(T0, home + "/device/vif");
        assertThat(drain(domU)).contains(new WatchEvent("device/vif", "tok"));
        dom0.watch(home + "/device/vif/0", "deep");
        assertThat(dom0.readWatch(SECOND)).isEqualTo(new WatchEvent(home + "/device/vif/0", "deep"));
        dom0.write(T0, home + "/device/vif/0/x", new byte[0]);
        drain(dom0);
        dom0.rm(T0, home + "/device");
        assertThat(drain(dom0)).as("an ancestor removed").contains(new WatchEvent(home + "/device/vif/0", "deep"));
        domU.unwatch("device", "tok");
        assertErrno(() -> domU.unwatch("device", "tok"), XenErrno.ENOENT);
    }

    @Test
    void transactionsCommitAtomicallyOrFailWithEagain() throws Exception {
        dom0.write(T0, "/t/x", "0".getBytes(UTF_8));
        dom0.watch("/t", "w");
        drain(dom0);
        int tx = dom0.transactionStart();
        dom0.write(tx, "/t/x", "1".getBytes(UTF_8));
        dom0.write(tx, "/t/y", "1".getBytes(UTF_8));
        assertThat(text(dom0.read(T0, "/t/x"))).as("not visible before commit").isEqualTo("0");
        assertThat(dom0.readWatch(0)).as("no event before commit").isNull();
        assertThat(dom0.transactionEnd(tx, false)).isTrue();
        assertThat(text(dom0.read(T0, "/t/y"))).isEqualTo("1");
        assertThat(drain(dom0)).contains(new WatchEvent("/t/x", "w"), new WatchEvent("/t/y", "w"));

        int a = dom0.transactionStart();
        assertThat(text(dom0.read(a, "/t/x"))).isEqualTo("1");
        dom0.write(T0, "/t/x", "2".getBytes(UTF_8));
        assertThat(text(dom0.read(a, "/t/x"))).as("snapshot").isEqualTo("1");
        dom0.write(a, "/t/z", "a".getBytes(UTF_8));
        assertThat(dom0.transactionEnd(a, false)).as("conflict").isFalse();
        assertErrno(() -> dom0.read(T0, "/t/z"), XenErrno.ENOENT);

        int b = dom0.transactionStart();
        dom0.write(b, "/t/q", new byte[0]);
        assertThat(dom0.transactionEnd(b, true)).isTrue();
        assertErrno(() -> dom0.read(T0, "/t/q"), XenErrno.ENOENT);
        assertErrno(() -> dom0.transactionEnd(b, false), XenErrno.ENOENT);
    }

    @Test
    void longDirectoriesComeInParts() throws Exception {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            names.add("a-rather-long-child-name-" + i);
            dom0.write(T0, "/many/" + names.get(i), new byte[0]);
        }
        assertThat(dom0.directory(T0, "/many")).containsExactlyElementsOf(names);
        dom0.setPermissions(T0, "/many", List.of(new XenStorePermission(0, Access.READ)));
        assertThat(domU.directory(T0, "/many")).containsExactlyElementsOf(names);
    }

    @Test
    void aClosedConnectionRefusesCallsWithoutTouchingTheLibrary() throws Exception {
        XenStore xs = connect(0);
        xs.close();
        xs.close();
        assertErrno(() -> xs.read(T0, "/local"), XenErrno.EINVAL);
    }

    private static List<WatchEvent> drain(XenStore xs) throws XenException {
        List<WatchEvent> out = new ArrayList<>();
        WatchEvent e = xs.readWatch(SECOND);
        while (e != null) {
            out.add(e);
            e = xs.readWatch(TimeUnit.MILLISECONDS.toNanos(100));
        }
        return out;
    }

    private static String text(byte[] b) {
        return new String(b, UTF_8);
    }

    private interface Call {
        void run() throws Exception;
    }

    private static void assertErrno(Call call, int errno) {
        assertThatThrownBy(call::run).isInstanceOf(XenException.class)
                .extracting(e -> ((XenException) e).errno()).isEqualTo(errno);
    }
}
