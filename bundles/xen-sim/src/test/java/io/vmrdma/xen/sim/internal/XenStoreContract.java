package io.vmrdma.xen.sim.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every XenStore client of vmrdma must do against the simulator's xenstored, as xenstored_core.c behaves:
 * the simulator's own client and the native binding over Debian's libxenstore run this same suite. A subclass says
 * how it connects as dom0 and as the guest.
 */
public abstract class XenStoreContract {

    protected static final int T0 = XenStore.NO_TRANSACTION;
    protected static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @TempDir
    protected Path state;

    protected SimHypervisor hv;
    protected int domid;
    protected XenStore dom0;
    protected XenStore domU;
    protected String home;

    /** Starts the simulator this suite runs against. */
    protected abstract SimHypervisor startHypervisor(Path stateDirectory) throws Exception;

    /** A connection as dom0. */
    protected abstract XenStore openDom0() throws Exception;

    /** A connection as the guest {@code guestDomid}. */
    protected abstract XenStore openGuest(int guestDomid) throws Exception;

    /** Anything the subclass opened besides the two connections. */
    protected void closeExtras() throws Exception {
    }

    @BeforeEach
    void startAndConnect() throws Exception {
        hv = startHypervisor(state);
        domid = hv.create("g1", 1 << 20);
        dom0 = openDom0();
        domU = openGuest(domid);
        home = "/local/domain/" + domid;
    }

    @AfterEach
    void disconnectAndStop() throws Exception {
        domU.close();
        dom0.close();
        closeExtras();
        hv.close();
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
                .isEqualTo(new XenStorePermission(domid, Access.NONE));
        dom0.write(T0, home + "/device/vif/0/state", "1".getBytes(UTF_8));
        // dom0 created it: it inherited the guest-owned parent's permissions.
        assertThat(text(domU.read(T0, "device/vif/0/state"))).isEqualTo("1");
        dom0.write(T0, "/backend/x", "b".getBytes(UTF_8));
        dom0.setPermissions(T0, "/backend/x", List.of(new XenStorePermission(0, Access.NONE),
                new XenStorePermission(domid, Access.READ)));
        assertThat(text(domU.read(T0, "/backend/x"))).isEqualTo("b");
        assertErrno(() -> domU.write(T0, "/backend/x", new byte[0]), XenErrno.EACCES);
        assertErrno(() -> domU.setPermissions(T0, "data/mine/x",
                List.of(new XenStorePermission(0, Access.BOTH))), XenErrno.EPERM);
        assertThat(hv.counters().get(SimCounters.Counter.XS_ACCESS_DENIED)).isEqualTo(5);
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

    /**
     * The watch descriptor is readable while fired watches wait to be read and not once they are: a reader that
     * sleeps on it beside other descriptors neither misses an event nor wakes for nothing. Events that fired before
     * the descriptor was first asked for make it readable too.
     */
    @Test
    void theWatchDescriptorIsReadableWhileEventsWaitAndOnlyThen() throws Exception {
        domU.watch("device", "early");
        int fd = dom0.watchFd();
        assertThat(fd).isNotNegative();
        assertThat(Readiness.readable(fd, 0)).as("nothing fired").isFalse();
        dom0.watch(home + "/device", "fd");
        assertThat(Readiness.readable(fd, 10_000)).as("the watch fired on registration").isTrue();
        assertThat(drain(dom0)).contains(new WatchEvent(home + "/device", "fd"));
        assertThat(Readiness.readable(fd, 0)).as("every event read").isFalse();
        dom0.write(T0, home + "/device/vbd/0", "x".getBytes(UTF_8));
        assertThat(Readiness.readable(fd, 10_000)).as("a write below the watch").isTrue();
        assertThat(drain(dom0)).contains(new WatchEvent(home + "/device/vbd/0", "fd"));
        assertThat(Readiness.readable(fd, 0)).as("every event read").isFalse();
        int guests = domU.watchFd();
        assertThat(Readiness.readable(guests, 10_000)).as("an event queued before the descriptor was made").isTrue();
        assertThat(drain(domU)).contains(new WatchEvent("device", "early"));
        assertThat(Readiness.readable(guests, 0)).isFalse();
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

    protected static List<WatchEvent> drain(XenStore xs) throws XenException {
        List<WatchEvent> out = new ArrayList<>();
        WatchEvent e = xs.readWatch(SECOND);
        while (e != null) {
            out.add(e);
            e = xs.readWatch(TimeUnit.MILLISECONDS.toNanos(100));
        }
        return out;
    }

    protected static String text(byte[] b) {
        return new String(b, UTF_8);
    }

    protected interface Call {
        void run() throws Exception;
    }

    protected static void assertErrno(Call call, int errno) {
        assertThatThrownBy(call::run).isInstanceOf(XenException.class)
                .extracting(e -> ((XenException) e).errno()).isEqualTo(errno);
    }
}
