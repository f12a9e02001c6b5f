package io.vmrdma.xen.jna.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;

import com.sun.jna.Native;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The libraries load by soname from Debian's runtime packages, and on this host (no Xen) each open gives one
 * clear XenException with ENOENT. Fails rather than skips on a Xen host, where these expectations are wrong.
 */
class NotOnXenTest {

    @BeforeAll
    static void thisHostHasNoXen() {
        assertThat(Path.of("/dev/xen")).as("these tests expect a host without Xen").doesNotExist();
    }

    @Test
    void theThreeLibrariesLoadBySoname() throws XenException {
        assertThat(XenLibraries.gnttab("load")).isNotNull();
        assertThat(XenLibraries.evtchn("load")).isNotNull();
        assertThat(XenLibraries.xenstore("load")).isNotNull();
        for (String soname : new String[] {LibXenGnttab.SONAME, LibXenEvtchn.SONAME, LibXenStore.SONAME}) {
            assertThat(Files.exists(Path.of("/usr/lib/x86_64-linux-gnu", soname))).as(soname).isTrue();
        }
    }

    @Test
    void grantMapperOpenSaysNotRunningOnXen() {
        assertNotOnXen(() -> new NativeHypervisor(0).openGrantMapper(), "xengnttab_open", "/dev/xen/gntdev");
    }

    @Test
    void grantSharerOpenSaysNotRunningOnXen() {
        assertNotOnXen(() -> new NativeHypervisor(0).openGrantSharer(), "xengntshr_open", "/dev/xen/gntalloc");
    }

    @Test
    void eventChannelOpenSaysNotRunningOnXen() {
        assertNotOnXen(() -> new NativeHypervisor(0).openEventChannel(), "xenevtchn_open", "/dev/xen/evtchn");
    }

    @Test
    void errnoIsReadOnlyAfterAFailureValue() throws XenException {
        // set_max_grants-style success with errno left set must not be taken for a failure: JNA keeps the last
        // errno across calls, so only the return value may decide.
        LibXenGnttab lib = XenLibraries.gnttab("probe");
        assertThat(lib.xengnttab_open(null, 0)).isNull();
        assertThat(Native.getLastError()).isEqualTo(XenErrno.ENOENT);
        assertThat(lib.xengnttab_close(null)).as("close(NULL) succeeds").isZero();
    }

    private interface Open {
        AutoCloseable open() throws Exception;
    }

    private static void assertNotOnXen(Open open, String operation, String device) {
        assertThatThrownBy(open::open).isInstanceOfSatisfying(XenException.class, e -> {
            assertThat(e.errno()).isEqualTo(XenErrno.ENOENT);
            assertThat(e.operation()).isEqualTo(operation);
            assertThat(e.getMessage()).startsWith(operation + ": ENOENT: not running on Xen: " + device);
            assertThat(e.getCause()).isNull();
        });
    }
}
