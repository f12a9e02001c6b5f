package io.vmrdma.xen.sim.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
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
import io.vmrdma.xen.sim.guest.SimGuest;
import io.vmrdma.xen.sim.internal.SimCounters.Counter;
import io.vmrdma.xen.sim.internal.abi.XsWire;
import io.vmrdma.xen.sim.internal.xenstore.XsLimits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The xenstored against xenstored_core.c's behaviour: dom0 in process, the guest over its own socket. */
class XenStoredTest {

    private static final int T0 = XenStore.NO_TRANSACTION;
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @TempDir
    Path state;

    SimHypervisor hv;
    SimGuest guest;
    XenStore dom0;
    XenStore domU;
    String home;

    @BeforeEach
    void setUp() throws Exception {
        hv = SimHypervisor.start(SimSettings.defaults(state).withXenStore(new XsLimits(40, 64, 4, 2)));
        guest = SimGuest.attach(hv.domainDirectory(hv.create("g1", 1 << 20)));
        dom0 = hv.dom0().openXenStore();
        domU = guest.openXenStore();
        home = "/local/domain/" + guest.selfDomid();
    }

    @AfterEach
    void tearDown() throws Exception {
        domU.close();
        dom0.close();
        guest.close();
        hv.close();
    }

    @Test
    void theToolstackWroteTheGuestsHome() throws Exception {
        assertThat(text(domU.read(T0, "name"))).isEqualTo("g1");
        assertThat(text(dom0.read(T0, home + "/domid"))).isEqualTo(Integer.toString(guest.selfDomid()));
        assertThat(dom0.directory(T0, home)).contains("name", "domid", "memory", "device", "control", "data");
        assertThat(dom0.getPermissions(T0, home)).containsExactly(new XenStorePermission(0, Access.NONE),
                new XenStorePermission(guest.selfDomid(), Access.READ));
    }

    @Test
    void readsWritesAndRemovals() throws Exception {
        dom0.write(T0, "/a/b/c", "v".getBytes(UTF_8));
        assertThat(dom0.read(T0, "/a/b")).isEmpty();
        assertThat(dom0.directory(T0, "/a")).containsExactly("b");
        byte[] binary = {0, 1, 2, (byte) 255};
        dom0.write(T0, "/a/bin", binary);
        assertThat(dom0.read(T0, "/a/bin")).isEqualTo(binary);
        dom0.mkdir(T0, "/a/b");
        assertThat(text(dom0.read(T0, "/a/b/c"))).isEqualTo("v");
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
                .isEqualTo(new XenStorePermission(guest.selfDomid(), Access.NONE));
        dom0.write(T0, home + "/device/vif/0/state", "1".getBytes(UTF_8));
        // dom0 created it: it inherited the guest-owned parent's permissions.
        assertThat(text(domU.read(T0, "device/vif/0/state"))).isEqualTo("1");
        dom0.write(T0, "/backend/x", "b".getBytes(UTF_8));
        dom0.setPermissions(T0, "/backend/x", List.of(new XenStorePermission(0, Access.NONE),
                new XenStorePermission(guest.selfDomid(), Access.READ)));
        assertThat(text(domU.read(T0, "/backend/x"))).isEqualTo("b");
        assertErrno(() -> domU.write(T0, "/backend/x", new byte[0]), XenErrno.EACCES);
        assertErrno(() -> domU.setPermissions(T0, "data/mine/x",
                List.of(new XenStorePermission(0, Access.BOTH))), XenErrno.EPERM);
        assertThat(hv.counters().get(Counter.XS_ACCESS_DENIED)).isEqualTo(5);
    }

    @Test
    void watchesFireOnRegistrationThenOnChangesBelow() throws Exception {
        domU.watch("device", "tok");
        assertThat(domU.readWatch(SECOND)).isEqualTo(new WatchEvent("device", "tok"));
        dom0.write(T0, home + "/device/vif/0/state", "4".getBytes(UTF_8));
        List<WatchEvent> events = drain(domU);
        assertThat(events).contains(new WatchEvent("device/vif/0/state", "tok"));
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
    void quotasBindGuestsButNotDom0() throws Exception {
        assertErrno(() -> domU.write(T0, "data/big", new byte[65]), XenErrno.ENOSPC);
        List<Integer> created = new ArrayList<>();
        XenException full = null;
        for (int i = 0; i < 100 && full == null; i++) {
            try {
                domU.write(T0, "data/n" + i, new byte[0]);
                created.add(i);
            } catch (XenException e) {
                full = e;
            }
        }
        assertThat(full).isNotNull().extracting(XenException::errno).isEqualTo(XenErrno.ENOSPC);
        assertThat(created.size()).isLessThan(40);
        domU.rm(T0, "data/n0");
        domU.write(T0, "data/again", new byte[0]);
        dom0.write(T0, "/dom0/big", new byte[3000]);
        for (int i = 0; i < 4; i++) {
            domU.watch("data", "t" + i);
        }
        assertErrno(() -> domU.watch("data", "t4"), XenErrno.E2BIG);
        domU.transactionStart();
        domU.transactionStart();
        assertErrno(domU::transactionStart, XenErrno.ENOSPC);
        assertThat(hv.counters().get(Counter.XS_QUOTA)).isEqualTo(4);
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
    void malformedAndOversizedMessagesGetXensErrors() throws Exception {
        try (SocketChannel raw = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            raw.connect(UnixDomainSocketAddress.of(hv.domainDirectory(guest.selfDomid())
                    .resolve(SimAbi.SOCKET_XENSTORE)));
            assertThat(exchange(raw, XsWire.READ, "no-nul".getBytes(UTF_8))).isEqualTo("EINVAL");
            assertThat(exchange(raw, 99, new byte[] {0})).isEqualTo("ENOSYS");
            assertThat(exchange(raw, XsWire.WATCH, "@releaseDomain\0t\0".getBytes(UTF_8))).isEqualTo("EACCES");
            assertThat(exchange(raw, XsWire.INTRODUCE, "1\0".getBytes(UTF_8))).isEqualTo("EACCES");
            assertThat(exchange(raw, XsWire.READ, new byte[5000])).isEqualTo("E2BIG");
            ByteBuffer eof = ByteBuffer.allocate(1);
            assertThat(raw.read(eof)).as("connection dropped").isEqualTo(-1);
        }
        assertThat(hv.counters().get(Counter.XS_OVERSIZED)).isEqualTo(1);
        assertThat(hv.counters().get(Counter.XS_MALFORMED)).isEqualTo(2);
        assertThat(text(domU.read(T0, "name"))).as("still serving").isEqualTo("g1");
    }

    private static String exchange(SocketChannel ch, int type, byte[] payload) throws Exception {
        ByteBuffer msg = ByteBuffer.allocate(16 + Math.min(payload.length, 4096)).order(ByteOrder.LITTLE_ENDIAN);
        msg.putInt(type).putInt(7).putInt(0).putInt(payload.length);
        msg.put(payload, 0, Math.min(payload.length, 4096)).flip();
        while (msg.hasRemaining()) {
            ch.write(msg);
        }
        ByteBuffer header = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        while (header.hasRemaining()) {
            ch.read(header);
        }
        assertThat(header.getInt(0)).isEqualTo(XsWire.ERROR);
        ByteBuffer body = ByteBuffer.allocate(header.getInt(12));
        while (body.hasRemaining()) {
            ch.read(body);
        }
        return new String(body.array(), 0, body.capacity() - 1, UTF_8);
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
