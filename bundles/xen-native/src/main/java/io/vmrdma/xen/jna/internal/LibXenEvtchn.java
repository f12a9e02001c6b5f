package io.vmrdma.xen.jna.internal;

import com.sun.jna.Library;
import com.sun.jna.Pointer;

/**
 * {@code libxenevtchn.so.1} (package libxenevtchn1), over {@code /dev/xen/evtchn}. Failures return NULL or -1 and
 * leave errno, read with {@code Native.getLastError()} only after a failure (see {@link LibXenGnttab}).
 */
interface LibXenEvtchn extends Library {

    String SONAME = "libxenevtchn.so.1";

    Pointer xenevtchn_open(Pointer logger, int flags);

    int xenevtchn_close(Pointer xce);

    int xenevtchn_fd(Pointer xce);

    int xenevtchn_notify(Pointer xce, int port);

    int xenevtchn_bind_unbound_port(Pointer xce, int domid);

    int xenevtchn_bind_interdomain(Pointer xce, int domid, int remotePort);

    int xenevtchn_unbind(Pointer xce, int port);

    int xenevtchn_pending(Pointer xce);

    int xenevtchn_unmask(Pointer xce, int port);
}
