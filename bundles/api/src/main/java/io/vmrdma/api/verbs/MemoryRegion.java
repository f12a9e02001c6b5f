package io.vmrdma.api.verbs;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Registered memory: a range of a domain's pages the engine keeps mapped until deregistration, with the keys that
 * name it locally ({@link #lkey()}) and to peers ({@link #rkey()}).
 */
@ProviderType
public interface MemoryRegion {

    ProtectionDomain pd();

    /** The address the owner uses for the first byte of the region. */
    long address();

    /** Length in bytes. */
    long length();

    /** {@link AccessFlags} bits. */
    int access();

    /** Local key, for work requests of the owner. */
    int lkey();

    /** Remote key, for peers' RDMA WRITE and READ; unpredictable, not reused soon after deregistration. */
    int rkey();
}
