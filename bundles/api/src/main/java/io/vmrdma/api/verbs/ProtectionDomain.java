package io.vmrdma.api.verbs;

import org.osgi.annotation.versioning.ProviderType;

/** A protection domain: memory regions and queue pairs work together only within the same one. */
@ProviderType
public interface ProtectionDomain {

    /** The handle the owning domain uses for it. */
    int handle();

    /** The guest domain that owns it. */
    int domid();
}
