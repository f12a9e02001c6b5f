package io.vmrdma.xen.jna.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.xen.sim.guest.SimAbi;
import io.vmrdma.xen.sim.internal.SimHypervisor;
import io.vmrdma.xen.sim.internal.XenStoreContract;
import org.junit.jupiter.api.Test;

/**
 * The JNA XenStore binding over Debian's real libxenstore.so.4, against the simulator's xenstored: the checks of
 * the simulator's own XenStoredTest, through the C library. xs_open connects to the socket XENSTORED_PATH names
 * (surefire sets it to a path under target/); each connection points that path, a symbolic link, at the dom0 or
 * the guest socket of the simulator before opening, so both sides run through the real library.
 */
class NativeXenStoreTest extends XenStoreContract {

    @Override
    protected SimHypervisor startHypervisor(Path stateDirectory) throws Exception {
        return SimHypervisor.start(stateDirectory);
    }

    @Override
    protected XenStore openDom0() throws Exception {
        return connect(0);
    }

    @Override
    protected XenStore openGuest(int guestDomid) throws Exception {
        return connect(guestDomid);
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
    void theHypervisorFindsItsOwnDomidInXenStore() throws Exception {
        connect(domid).close();
        assertThat(NativeHypervisor.discoverSelfDomid()).isEqualTo(domid);
    }

    @Test
    void aClosedConnectionRefusesCallsWithoutTouchingTheLibrary() throws Exception {
        XenStore xs = connect(0);
        xs.close();
        xs.close();
        assertErrno(() -> xs.read(T0, "/local"), XenErrno.EINVAL);
    }
}
