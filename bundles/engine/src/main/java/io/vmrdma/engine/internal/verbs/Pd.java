package io.vmrdma.engine.internal.verbs;

import io.vmrdma.api.verbs.ProtectionDomain;

/** A protection domain, with a count of the regions and queue pairs that use it. */
final class Pd implements ProtectionDomain {

    private final DeviceVerbs owner;
    private final int handle;
    int users;
    boolean live = true;

    Pd(DeviceVerbs owner, int handle) {
        this.owner = owner;
        this.handle = handle;
    }

    DeviceVerbs owner() {
        return owner;
    }

    @Override
    public int handle() {
        return handle;
    }

    @Override
    public int domid() {
        return owner.domid();
    }

    @Override
    public String toString() {
        return "pd " + handle + " of dom " + owner.domid();
    }
}
