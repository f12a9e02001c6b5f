package io.vmrdma.xen.jna.internal;

import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;

/** Real Xen through Debian's libraries: every {@code open*} is the C library's {@code *_open}. */
final class NativeHypervisor implements Hypervisor {

    private final int selfDomid;

    NativeHypervisor(int selfDomid) {
        this.selfDomid = selfDomid;
    }

    /**
     * The domain we run in, from XenStore's {@code domid} key relative to our own home (written for dom0 by
     * xen-init-dom0, for guests by the toolstack); 0 when XenStore cannot say, as in dom0.
     */
    static int discoverSelfDomid() {
        try (XenStore xs = NativeXenStore.open()) {
            return Integer.parseInt(new String(xs.read(XenStore.NO_TRANSACTION, "domid"),
                    java.nio.charset.StandardCharsets.US_ASCII).trim());
        } catch (XenException | NumberFormatException e) {
            return 0;
        }
    }

    @Override
    public String kind() {
        return "native";
    }

    @Override
    public int selfDomid() {
        return selfDomid;
    }

    @Override
    public GrantMapper openGrantMapper() throws XenException {
        return NativeGrantMapper.open();
    }

    @Override
    public GrantSharer openGrantSharer() throws XenException {
        return NativeGrantSharer.open();
    }

    @Override
    public EventChannel openEventChannel() throws XenException {
        return NativeEventChannel.open();
    }

    @Override
    public XenStore openXenStore() throws XenException {
        return NativeXenStore.open();
    }
}
