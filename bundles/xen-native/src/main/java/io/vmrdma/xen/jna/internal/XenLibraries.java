package io.vmrdma.xen.jna.internal;

import com.sun.jna.Library;
import com.sun.jna.Native;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;

/**
 * Loads each Xen library by soname on first use (so only the runtime packages are needed, and a missing one
 * breaks only its own calls), and turns failures into one {@link XenException} instead of JNA's errors.
 */
final class XenLibraries {

    private static volatile LibXenGnttab gnttab;
    private static volatile LibXenEvtchn evtchn;
    private static volatile LibXenStore xenstore;

    private XenLibraries() {
    }

    static LibXenGnttab gnttab(String operation) throws XenException {
        LibXenGnttab lib = gnttab;
        if (lib == null) {
            lib = load(LibXenGnttab.SONAME, LibXenGnttab.class, "libxengnttab1", operation);
            gnttab = lib;
        }
        return lib;
    }

    static LibXenEvtchn evtchn(String operation) throws XenException {
        LibXenEvtchn lib = evtchn;
        if (lib == null) {
            lib = load(LibXenEvtchn.SONAME, LibXenEvtchn.class, "libxenevtchn1", operation);
            evtchn = lib;
        }
        return lib;
    }

    static LibXenStore xenstore(String operation) throws XenException {
        LibXenStore lib = xenstore;
        if (lib == null) {
            lib = load(LibXenStore.SONAME, LibXenStore.class, "libxenstore4", operation);
            xenstore = lib;
        }
        return lib;
    }

    private static <T extends Library> T load(String soname, Class<T> type, String debianPackage, String operation)
            throws XenException {
        try {
            return Native.load(soname, type);
        } catch (UnsatisfiedLinkError e) {
            throw new XenException(operation, XenErrno.ENOENT,
                    soname + " cannot be loaded (Debian package " + debianPackage + "): " + e.getMessage());
        }
    }

    /** The failure of an {@code *_open} call that returned NULL, from errno, naming what it tried to open. */
    static XenException openFailure(String operation, String device) {
        int errno = Native.getLastError();
        String detail = switch (errno) {
            case XenErrno.ENOENT -> "not running on Xen: " + device
                    + " does not exist (no Xen hypervisor, or its Linux driver is not loaded)";
            case XenErrno.EACCES, XenErrno.EPERM -> device + ": permission denied (root in dom0, or the guest's root)";
            default -> "cannot open " + device;
        };
        return new XenException(operation, errno, detail);
    }

    /** The failure of a call that returned its documented failure value, from errno. */
    static XenException failure(String operation, String detail) {
        return new XenException(operation, Native.getLastError(), detail);
    }

    static XenException closed(String operation) {
        return new XenException(operation, XenErrno.EINVAL, "the handle is closed");
    }
}
