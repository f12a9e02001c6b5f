package io.vmrdma.api.sched;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The operator's scheduling settings for one VM, keyed by domain name so they survive a reboot of the VM. Policies
 * read only the settings they use.
 */
@ProviderType
public interface VmSettings {

    /** Relative share for weighted policies, at least 1. */
    int weight();

    /** Strict-priority level, 0 (highest) to {@link #LOWEST_PRIORITY}. */
    int priority();

    /** Rate cap in bytes per second, 0 for none. */
    long rateBytesPerSecond();

    /** Bytes the VM may send at once above its rate, for the token bucket. */
    long burstBytes();

    /** The lowest priority level. */
    int LOWEST_PRIORITY = 7;
}
