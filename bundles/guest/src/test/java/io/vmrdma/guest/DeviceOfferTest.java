package io.vmrdma.guest;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.guest.GuestAbi;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.api.xen.XenStorePermission;
import io.vmrdma.api.xen.XenStorePermission.Access;
import io.vmrdma.xen.sim.guest.SimGuest;
import io.vmrdma.xen.sim.internal.SimHypervisor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a vmrdma device comes into being as on a real Xen toolstack: {@code device/} is read-only for the guest, so
 * the frontend cannot make its directory until dom0's backend offers {@code device/vmrdma}, owned by the guest.
 */
class DeviceOfferTest {

    @TempDir
    Path state;

    @Test
    void withoutDom0sVmrdmaAGuestCanNeitherCreateADeviceNorOpenOne() throws Exception {
        try (SimHypervisor hv = SimHypervisor.start(state)) {
            int domid = hv.create("lonely", 16 << 20);
            SimGuest guest = SimGuest.attach(hv.domainDirectory(domid));
            try (XenStore xs = guest.openXenStore()) {
                assertThatThrownBy(() -> xs.write(XenStore.NO_TRANSACTION,
                        GuestAbi.frontendPath(domid, 0) + "/" + GuestAbi.KEY_STATE, "1".getBytes(UTF_8)))
                        .isInstanceOfSatisfying(XenException.class,
                                e -> assertThat(e.errno()).isEqualTo(XenErrno.EACCES));
            }
            GuestDevice.Options quick = new GuestDevice.Options(2, false, false, TimeUnit.MILLISECONDS.toNanos(300));
            assertThatThrownBy(() -> GuestDevice.open(guest, 0, quick)).isInstanceOfSatisfying(VerbsException.class,
                    e -> {
                        assertThat(e.errno()).isEqualTo(GuestDevice.ENODEV);
                        assertThat(e.getMessage()).contains("dom0 offers this domain no vmrdma device")
                                .contains(GuestAbi.devicesPath(domid));
                    });
        }
    }

    @Test
    void dom0OffersEveryDomainADirectoryItOwnsAndNoMore() throws Exception {
        try (EngineFixture host = new EngineFixture(state)) {
            SimGuest guest = host.guest("owner");
            int domid = guest.selfDomid();
            XenStore dom0 = host.hv.dom0().openXenStore();
            host.await(() -> exists(dom0, GuestAbi.devicesPath(domid)), "device/vmrdma offered");
            assertThat(dom0.getPermissions(XenStore.NO_TRANSACTION, GuestAbi.devicesPath(domid)))
                    .containsExactly(new XenStorePermission(domid, Access.NONE));
            assertThat(dom0.getPermissions(XenStore.NO_TRANSACTION, "/local/domain/" + domid + "/device"))
                    .as("the toolstack's device/ stays read-only for the guest")
                    .containsExactly(new XenStorePermission(0, Access.NONE),
                            new XenStorePermission(domid, Access.READ));

            try (GuestDevice device = GuestDevice.open(guest, 0, GuestDevice.Options.defaults());
                    XenStore xs = guest.openXenStore()) {
                device.allocPd();
                assertThat(xs.getPermissions(XenStore.NO_TRANSACTION, GuestAbi.frontendPath(domid, 0)).get(0).domid())
                        .as("the guest owns the device it made").isEqualTo(domid);
                assertThatThrownBy(() -> xs.write(XenStore.NO_TRANSACTION,
                        "/local/domain/" + domid + "/device/vbd/51712/state", "1".getBytes(UTF_8)))
                        .as("other device types stay the toolstack's")
                        .isInstanceOfSatisfying(XenException.class,
                                e -> assertThat(e.errno()).isEqualTo(XenErrno.EACCES));
            }

            // Another domain does not get access to this one's offer.
            SimGuest other = host.guest("other");
            try (XenStore xs = other.openXenStore()) {
                assertThatThrownBy(() -> xs.write(XenStore.NO_TRANSACTION,
                        GuestAbi.frontendPath(domid, 7) + "/" + GuestAbi.KEY_STATE, "1".getBytes(UTF_8)))
                        .isInstanceOfSatisfying(XenException.class,
                                e -> assertThat(e.errno()).isEqualTo(XenErrno.EACCES));
            }

            // A destroyed domain's home is not made again by a late offer.
            host.hv.destroy(domid);
            host.await(() -> !exists(dom0, "/local/domain/" + domid), "the destroyed domain's home removed");
            Thread.sleep(100);
            assertThat(exists(dom0, "/local/domain/" + domid)).isFalse();
            assertThat(dom0.directory(XenStore.NO_TRANSACTION, "/local/domain"))
                    .doesNotContain(Integer.toString(domid));
            dom0.close();
            host.assertHealthy();
        }
    }

    private static boolean exists(XenStore xs, String path) {
        try {
            xs.read(XenStore.NO_TRANSACTION, path);
            return true;
        } catch (XenException e) {
            return false;
        }
    }
}
